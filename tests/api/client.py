#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Raw HTTP clients on petrel's API socket, for what curl cannot do: hold
connections open, stop in the middle of a request, never read the answers.

  client.py SOCK many N       N clients at once, each served; one more gets
                              503 and is closed; once one of the N leaves,
                              a new client is served again
  client.py SOCK pipeline     three requests in one write, three answers in
                              their order
  client.py SOCK stall SECS   a client stops half-way through a request; a
                              second client's request is answered well within
                              SECS; the server closes the first after SECS
  client.py SOCK noread       a client sends requests and never reads the
                              answers; another client is still served at once
  client.py SOCK put PATH FILE
                              PUT PATH with FILE's bytes as the body, sent
                              whole unless the server stops reading; prints
                              "STATUS BODY" of the answer (curl gives up on
                              an answer once the server has stopped reading)

Prints one line: "ok: ..." (exit 0) or "fail: ..." (exit 1), but put.
"""
import socket
import sys
import time

TIMEOUT = 5.0  # seconds for one answer on an idle server


class Fail(Exception):
    pass


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.connect(path)
    return s


class Reader:
    """HTTP/1.1 answers from one connection, Content-Length framed."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise Fail("no answer within %.0f s" % TIMEOUT)
        except ConnectionResetError:
            data = b""
        if not data:
            raise EOFError
        self.buf += data

    def answer(self):
        """(status, headers dict with lower-case names, body bytes)"""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise Fail("bad status line %r" % lines[0])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        n = int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return int(parts[1]), headers, body

    def closed(self):
        """True when the peer closed the connection (nothing more to read)."""
        try:
            self._fill()
        except EOFError:
            return True
        return False


def get(path, what="/"):
    return b"GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % what.encode()


def ask(reader, req):
    reader.sock.sendall(req)
    return reader.answer()


def many(path, n):
    conns = []
    try:
        for i in range(n):
            r = Reader(connect(path))
            conns.append(r)
            st, _, body = ask(r, get(path))
            if st != 200:
                raise Fail("client %d of %d: status %d %r" % (i + 1, n, st, body))
        # Each still holds its slot: ask all of them again.
        for i, r in enumerate(conns):
            st, _, _ = ask(r, get(path, "/version"))
            if st != 200:
                raise Fail("client %d again: status %d" % (i + 1, st))
        extra = Reader(connect(path))
        try:
            st, hdr, body = extra.answer()  # the server speaks first
        except EOFError:
            raise Fail("client %d: closed without an answer" % (n + 1))
        if st != 503 or b"Too many open connections" not in body:
            raise Fail("client %d: status %d %r, want 503 'Too many open connections'"
                       % (n + 1, st, body))
        if hdr.get("connection", "").lower() != "close":
            raise Fail("the 503 lacks Connection: close (headers %r)" % hdr)
        if not extra.closed():
            raise Fail("client %d: not closed after the 503" % (n + 1))
        extra.sock.close()
        conns.pop().sock.close()
        # The slot comes back once the server sees the close.
        deadline = time.monotonic() + TIMEOUT
        while True:
            r = Reader(connect(path))
            try:
                st, _, _ = ask(r, get(path))
            except EOFError:
                st = None
            if st == 200:
                conns.append(r)
                break
            r.sock.close()
            if time.monotonic() > deadline:
                raise Fail("a client after one of the %d left: status %r" % (n, st))
            time.sleep(0.05)
        return "%d served at once, client %d got 503, a slot freed is reused" % (n, n + 1)
    finally:
        for r in conns:
            r.sock.close()


def pipeline(path):
    r = Reader(connect(path))
    body = b'{"vcpu_count": 0, "mem_size_mib": 64}'
    reqs = (get(path, "/") + get(path, "/version") +
            b"PUT /machine-config HTTP/1.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    r.sock.sendall(reqs)
    got = [r.answer() for _ in range(3)]
    r.sock.close()
    want = [(200, b'"state"'), (200, b'"firecracker_version"'), (400, b'"fault_message"')]
    for i, ((st, _, b), (wst, wb)) in enumerate(zip(got, want)):
        if st != wst or wb not in b:
            raise Fail("answer %d: %d %r, want %d with %s" % (i + 1, st, b, wst, wb))
    return "3 pipelined requests answered in order"


def timed_get(path):
    t0 = time.monotonic()
    r = Reader(connect(path))
    st, _, body = ask(r, get(path))
    r.sock.close()
    if st != 200:
        raise Fail("the other client: status %d %r" % (st, body))
    return time.monotonic() - t0


def stall(path, secs):
    a = Reader(connect(path))
    a.sock.settimeout(secs + 10)
    a.sock.sendall(b"PUT /machine-config HTTP/1.1\r\nContent-Type: application/json\r\n"
                   b"Content-Length: 40\r\n\r\n{\"vcpu_count\"")
    t_stall = time.monotonic()
    time.sleep(0.2)
    other = timed_get(path)
    if other > 1.0:
        raise Fail("the other client waited %.3f s behind a stalled one" % other)
    try:
        while not a.closed():
            pass
    except socket.timeout:
        raise Fail("the stalled client was not closed within %d s" % (secs + 10))
    except Fail:
        raise Fail("the stalled client was not closed within %d s" % (secs + 10))
    closed = time.monotonic() - t_stall
    a.sock.close()
    # The server checks its clients about once a second.
    if closed < secs - 0.5 or closed > secs + 3:
        raise Fail("the stalled client was closed after %.1f s, want %d s" % (closed, secs))
    other2 = timed_get(path)
    return ("the other client answered in %.3f s (then %.3f s); the stalled one closed "
            "after %.1f s" % (other, other2, closed))


def noread(path):
    a = connect(path)
    a.setblocking(False)
    one = get(path, "/version")
    sent, deadline = 0, time.monotonic() + 1.0
    data = one * 20000  # ~0.9 MB of requests, far past the socket buffers
    while sent < len(data) and time.monotonic() < deadline:
        try:
            sent += a.send(data[sent:sent + 65536])
        except BlockingIOError:
            time.sleep(0.01)
    other = timed_get(path)
    a.close()
    if other > 1.0:
        raise Fail("the other client waited %.3f s behind one that never reads" % other)
    after = timed_get(path)
    return ("%d bytes of requests never read; the other client answered in %.3f s, "
            "%.3f s after it left" % (sent, other, after))


def put(path, what, file):
    body = open(file, "rb").read()
    r = Reader(connect(path))
    req = (b"PUT %s HTTP/1.1\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\n\r\n" % (what.encode(), len(body))) + body
    try:
        r.sock.sendall(req)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered early and closed: read that answer
    try:
        st, _, answer = r.answer()
    except EOFError:
        raise Fail("closed without an answer")
    r.sock.close()
    return "%d %s" % (st, answer.decode("utf-8", "replace"))


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    path, cmd = sys.argv[1], sys.argv[2]
    try:
        if cmd == "many":
            msg = many(path, int(sys.argv[3]))
        elif cmd == "pipeline":
            msg = pipeline(path)
        elif cmd == "stall":
            msg = stall(path, int(sys.argv[3]))
        elif cmd == "noread":
            msg = noread(path)
        elif cmd == "put":
            print(put(path, sys.argv[3], sys.argv[4]))
            return 0
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except (Fail, EOFError, OSError) as e:
        print("fail: %s" % (e if str(e) else type(e).__name__))
        return 1
    print("ok: " + msg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
