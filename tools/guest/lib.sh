# Shared helpers for tools/build-guest and tools/build-svmhost (sourced, POSIX sh).
# Expects ROOT (repo top) to be set by the caller.

BUILD=${PETREL_BUILD_DIR:-$ROOT/build}
CACHE=$BUILD/cache

log() { printf '%s\n' "$*" >&2; }
die() { printf '%s: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# need_pkgs PKG...: install missing Debian packages (CI starts from a fresh
# Debian 12); `apt-get update` only once and only if something is missing.
_apt_updated=
need_pkgs() {
    _missing=
    for _p in "$@"; do
        dpkg-query -W -f='${Status}' "$_p" 2>/dev/null | grep -q 'ok installed' ||
            _missing="$_missing $_p"
    done
    [ -z "$_missing" ] && return 0
    [ "$(id -u)" = 0 ] || die "missing packages:$_missing (run as root or install them)"
    log "installing:$_missing"
    if [ -z "$_apt_updated" ]; then apt-get update -qq >&2; _apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $_missing >&2
}

# hash_of FILE/STRING...: a short content hash for cache keys.
hash_of() {
    for _a in "$@"; do
        if [ -f "$_a" ]; then cat "$_a"; else printf '%s\n' "$_a"; fi
    done | sha256sum | cut -c1-16
}

# stock_kernel: download and unpack Debian's linux-image-cloud-amd64 (resolved
# to its versioned package through the metapackage's dependency) into the
# cache; prints the unpacked tree. Sets STOCK_KVER (e.g. 6.1.0-56-cloud-amd64).
stock_kernel() {
    need_pkgs kmod
    _pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9].*\)/\1/p' | head -n1)
    if [ -z "$_pkg" ]; then
        apt-get update -qq >&2; _apt_updated=1
        _pkg=$(apt-cache depends linux-image-cloud-amd64 |
            sed -n 's/^ *Depends: \(linux-image-[0-9].*\)/\1/p' | head -n1)
    fi
    [ -n "$_pkg" ] || die "cannot resolve linux-image-cloud-amd64"
    _ver=$(apt-cache policy "$_pkg" | sed -n 's/^ *Candidate: //p')
    STOCK_KVER=${_pkg#linux-image-}
    _dir=$CACHE/$_pkg-$_ver
    if [ ! -f "$_dir/.done" ]; then
        mkdir -p "$CACHE/debs"
        ( cd "$CACHE/debs" && ls "${_pkg}_"*.deb >/dev/null 2>&1 || apt-get download "$_pkg" >&2 ) ||
            die "apt-get download $_pkg failed"
        rm -rf "$_dir"
        dpkg-deb -x "$(ls "$CACHE/debs/${_pkg}_"*.deb | tail -n1)" "$_dir"
        # the package does not ship modules.dep (postinst runs depmod): make it
        depmod -b "$_dir" "${_pkg#linux-image-}"
        touch "$_dir/.done"
    fi
    [ -f "$_dir/boot/vmlinuz-$STOCK_KVER" ] || die "no vmlinuz in $_dir"
    STOCK_DIR=$_dir
}

# stock_modules MODNAME...: print the .ko paths (relative to the module dir)
# needed for the given modules, dependencies first, from modules.dep.
stock_modules() {
    _dep=$STOCK_DIR/lib/modules/$STOCK_KVER/modules.dep
    [ -f "$_dep" ] || die "no modules.dep in $STOCK_DIR"
    for _m in "$@"; do
        # module names use '-' or '_' interchangeably; file names keep the source's
        _re=$(printf '%s' "$_m" | sed 's/[-_]/[-_]/g')
        _line=$(grep -E "/$_re\.ko(\.[a-z]+)?:" "$_dep" | head -n1)
        [ -n "$_line" ] || { log "note: module $_m not in $STOCK_KVER (built in?)"; continue; }
        # modules.dep lists a module's deps with the deepest last: reverse them
        for _d in $(printf '%s\n' "$_line" | cut -d: -f2 | tr ' ' '\n' | sed '/^$/d' | tac); do
            printf '%s\n' "$_d"
        done
        printf '%s\n' "${_line%%:*}"
    done | awk '!seen[$0]++'
}

# mkinitramfs OUT.cpio INIT [SRC=DEST ...]: busybox tree + /init + extra files,
# packed as an uncompressed newc cpio owned by root. /dev/console is not
# needed: the kernel's built-in initramfs already provides it.
# Modules given as SRC=/lib/modules/NAME.ko are decompressed if .ko.xz/.ko.zst,
# and their load order is recorded in /lib/modules/order for the init script.
mkinitramfs() {
    _out=$1 _init=$2; shift 2
    need_pkgs busybox-static cpio xz-utils zstd
    _st=$(mktemp -d "${TMPDIR:-/tmp}/petrel-initramfs.XXXXXX")
    mkdir -p "$_st/bin" "$_st/sbin" "$_st/usr/bin" "$_st/usr/sbin" "$_st/proc" \
        "$_st/sys" "$_st/dev" "$_st/tmp" "$_st/root" "$_st/etc" "$_st/lib/modules"
    cp /bin/busybox "$_st/bin/busybox"
    for _a in $(/bin/busybox --list-full); do
        [ -e "$_st/$_a" ] || ln -s /bin/busybox "$_st/$_a"
    done
    cp "$_init" "$_st/init"; chmod 755 "$_st/init"
    echo 'root:x:0:0:root:/root:/bin/sh' > "$_st/etc/passwd"
    echo 'root:x:0:' > "$_st/etc/group"
    for _f in "$@"; do
        _src=${_f%%=*} _dst=${_f#*=}
        mkdir -p "$_st${_dst%/*}"
        case $_src in
        *.ko.xz)  xz -dc "$_src" > "$_st${_dst%.xz}"; _dst=${_dst%.xz} ;;
        *.ko.zst) zstd -qdc "$_src" > "$_st${_dst%.zst}"; _dst=${_dst%.zst} ;;
        *) cp "$_src" "$_st$_dst" ;;
        esac
        case $_dst in /lib/modules/*.ko) echo "${_dst##*/}" >> "$_st/lib/modules/order" ;; esac
    done
    ( cd "$_st" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet ) > "$_out.tmp"
    mv "$_out.tmp" "$_out"
    rm -rf "$_st"
}
