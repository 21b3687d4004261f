#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs petrel on a pseudo-terminal and checks its terminal handling.

  ptyrun.py MODE TIMEOUT STDERR_FILE PETREL ARGS...

petrel's stdin and stdout are the pty slave; its stderr goes to STDERR_FILE.
MODE:
  wait     let petrel run until it exits by itself
  sigterm  send SIGTERM once the guest has printed its first line
  escape   write Ctrl-A x to the master once the guest has printed a line
Checks that the slave's termios after petrel exits equals the termios
before it started (raw mode restored), and in the sigterm and escape modes
whether the terminal was raw (no ICANON, no ECHO) while the guest ran.
Prints one line
"status=N termios=same|changed raw=yes|no|unknown output=<first 200 bytes,
escaped>" and exits
0, or prints "error: ..." and exits 1 (timeout, helper failure).
"""
import os
import pty
import select
import signal
import subprocess
import sys
import termios
import time


def main():
    if len(sys.argv) < 5:
        print("error: usage: ptyrun.py MODE TIMEOUT STDERR_FILE PETREL ARGS...")
        return 1
    mode, timeout, err_file, cmd = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4:]
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    with open(err_file, "wb") as err:
        proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=err,
                                start_new_session=True)
    out = b""
    acted = mode == "wait"
    raw = "unknown"
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        left = deadline - time.monotonic()
        if left <= 0:
            proc.kill()
            proc.wait()
            print("error: timed out after %gs (mode %s); output %r" % (timeout, mode, out[:200]))
            return 1
        r, _, _ = select.select([master], [], [], min(left, 0.05))
        if r:
            try:
                out += os.read(master, 4096)
            except OSError:  # EIO: no process holds the slave open
                pass
        if not acted and b"\n" in out:
            acted = True
            lflag = termios.tcgetattr(slave)[3]
            raw = "no" if lflag & (termios.ICANON | termios.ECHO) else "yes"
            if mode == "sigterm":
                proc.send_signal(signal.SIGTERM)
            elif mode == "escape":
                os.write(master, b"\x01x")
    # Drain what the guest wrote just before petrel exited.
    while select.select([master], [], [], 0)[0]:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
    after = termios.tcgetattr(slave)
    os.close(master)
    os.close(slave)
    text = out[:200].decode("ascii", "backslashreplace").encode("unicode_escape").decode()
    print("status=%d termios=%s raw=%s output=%s"
          % (proc.returncode, "same" if before == after else "changed", raw, text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
