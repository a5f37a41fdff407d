"""A next hop written to misbehave, for the delivery side's hostile-peer tests (issue 14).

One listening socket on 127.0.0.1, port chosen by the OS; a thread per connection runs one
behaviour:

- "flood":   greets, then answers EHLO with `250-X...` lines without end (until rampart
             closes the connection, or `flood_limit` bytes, a bound for the test itself).
- "trickle": sends one `220-` greeting line every `interval` seconds and never finishes
             the greeting (until rampart closes, or `trickle_limit` lines).
- "smtp":    a well-behaved SMTP server (EHLO with PIPELINING, MAIL, RCPT, DATA, RSET,
             QUIT) that records every command; with `close_after_data`, it closes its side
             right after answering the data (no 221), as a peer that times out an idle
             client does.

Every connection's transcript and how it ended ("quit", "closed by client", ...) are kept
for the test to inspect. Every socket operation has a timeout; stop() closes everything.
"""
import socket
import threading

SOCKET_TIMEOUT = 60  # no read or write in this server waits longer


class Connection:
    def __init__(self, sock, addr):
        self.sock = sock
        self.addr = addr
        self.commands = []        # command lines received (CRLF stripped)
        self.sent_bytes = 0
        self.ended = None         # "quit", "closed by client", "closed by us", "error: ..."
        self.quit_seen = False
        self.messages = 0


class HostilePeer:
    def __init__(self, behaviour, interval=1.0, close_after_data=False, flood_limit=512 << 20, trickle_limit=600):
        assert behaviour in ("flood", "trickle", "smtp")
        self.behaviour = behaviour
        self.interval = interval
        self.close_after_data = close_after_data
        self.flood_limit = flood_limit
        self.trickle_limit = trickle_limit
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.2)
        self.host, self.port = self.listener.getsockname()
        self.connections = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = []
        self.acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    def start(self):
        self.acceptor.start()
        return self

    def stop(self):
        self.stopping.set()
        self.acceptor.join(timeout=10)
        with self.lock:
            conns = list(self.connections)
        for c in conns:
            try:
                c.sock.close()
            except OSError:
                pass
        for t in self.threads:
            t.join(timeout=10)
        self.listener.close()

    def snapshot(self):
        with self.lock:
            return list(self.connections)

    # ---- internals ----
    def _accept_loop(self):
        while not self.stopping.is_set():
            try:
                sock, addr = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            sock.settimeout(SOCKET_TIMEOUT)
            c = Connection(sock, addr)
            with self.lock:
                self.connections.append(c)
            t = threading.Thread(target=self._serve, args=(c,), daemon=True)
            self.threads.append(t)
            t.start()

    def _send(self, c, data):
        c.sock.sendall(data)
        c.sent_bytes += len(data)

    def _serve(self, c):
        try:
            getattr(self, "_" + self.behaviour)(c)
        except (BrokenPipeError, ConnectionResetError):
            c.ended = c.ended or "closed by client"
        except socket.timeout:
            c.ended = c.ended or "timeout (test server)"
        except OSError as e:
            c.ended = c.ended or f"error: {e}"
        finally:
            try:
                c.sock.close()
            except OSError:
                pass

    def _read_line(self, c, buf):
        while b"\n" not in buf[0]:
            data = c.sock.recv(4096)
            if not data:
                c.ended = c.ended or "closed by client"
                return None
            buf[0] += data
        line, _, rest = buf[0].partition(b"\n")
        buf[0] = rest
        line = line.rstrip(b"\r").decode("latin-1")
        c.commands.append(line)
        return line

    def _flood(self, c):
        self._send(c, b"220 flood.test ESMTP\r\n")
        buf = [b""]
        if self._read_line(c, buf) is None:
            return
        chunk = b"".join(b"250-X" + str(i).encode() * 8 + b"\r\n" for i in range(1000))
        while c.sent_bytes < self.flood_limit and not self.stopping.is_set():
            self._send(c, chunk)
        c.ended = c.ended or "flood limit reached"

    def _trickle(self, c):
        for i in range(self.trickle_limit):
            if self.stopping.is_set():
                return
            self._send(c, f"220-trickle.test line {i}\r\n".encode())
            # Wait `interval`, but notice at once when the client closes.
            c.sock.settimeout(self.interval)
            try:
                data = c.sock.recv(4096)
                if not data:
                    c.ended = "closed by client"
                    return
            except socket.timeout:
                pass
            finally:
                c.sock.settimeout(SOCKET_TIMEOUT)
        c.ended = "trickle limit reached"

    def _smtp(self, c):
        self._send(c, b"220 peer.test ESMTP\r\n")
        buf = [b""]
        while not self.stopping.is_set():
            line = self._read_line(c, buf)
            if line is None:
                return
            verb = line[:4].upper()
            if verb in ("EHLO", "LHLO"):
                self._send(c, b"250-peer.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
            elif verb == "HELO":
                self._send(c, b"250 peer.test\r\n")
            elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                self._send(c, b"250 2.0.0 ok\r\n")
            elif verb == "DATA":
                self._send(c, b"354 go ahead\r\n")
                while True:
                    l = self._read_line(c, buf)
                    if l is None:
                        return
                    c.commands.pop()   # data lines are not commands
                    if l == ".":
                        break
                c.messages += 1
                self._send(c, b"250 2.0.0 queued\r\n")
                if self.close_after_data:
                    c.ended = "closed by us"
                    c.sock.shutdown(socket.SHUT_RDWR)
                    return
            elif verb == "QUIT":
                c.quit_seen = True
                self._send(c, b"221 2.0.0 bye\r\n")
                # Wait for the client to close its side.
                try:
                    rest = c.sock.recv(4096)
                    c.ended = "quit" if not rest else "quit, then more data"
                except OSError:
                    c.ended = "quit"
                return
            else:
                self._send(c, b"502 5.5.2 not implemented\r\n")


def rss_kib(pid):
    """VmRSS of a process, in KiB (Linux /proc)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def close_wait_sockets(peer_port):
    """TCP sockets in CLOSE-WAIT whose remote end is 127.0.0.1:peer_port (from /proc/net/tcp)."""
    n = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            remote, state = fields[2], fields[3]
            ip_hex, port_hex = remote.split(":")
            if int(port_hex, 16) == peer_port and state == "08":   # 08: TCP_CLOSE_WAIT
                n += 1
    return n


def socket_fds(pid):
    """How many of the process's descriptors are sockets."""
    import os
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n
