"""A small milter written for the tests (the milter side of the libmilter protocol, version 6),
scripted per test: what it answers at each event, which modifications it sends at end of
message, or how it misbehaves (garbage instead of a reply, silence past the MTA's timeout,
closing the connection). It records every command and macro it receives, so a test can
check what rampart sent. Loopback only, a port chosen by the kernel, one thread per
connection; stop() closes the listening socket and every connection."""
import socket
import struct
import threading

# SMFIF_* actions and SMFIP_* protocol flags
ADDHDRS, CHGBODY, ADDRCPT, DELRCPT, CHGHDRS, QUARANTINE, CHGFROM = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40
ALL_ACTIONS = ADDHDRS | CHGBODY | ADDRCPT | DELRCPT | CHGHDRS | QUARANTINE | CHGFROM
NR_HDR, NR_BODY, HDR_LEADSPC = 0x80, 0x80000, 0x100000

EVENTS = {b"C": "connect", b"H": "helo", b"M": "mail", b"R": "rcpt", b"T": "data", b"L": "header",
          b"N": "eoh", b"B": "body", b"E": "eom", b"A": "abort", b"Q": "quit"}


def pkt(cmd, data=b""):
    return struct.pack(">I", len(data) + 1) + cmd + data


def z(*parts):
    return b"".join((p if isinstance(p, bytes) else p.encode()) + b"\0" for p in parts)


def reply_code(text):
    return pkt(b"y", z(text))


def add_header(name, value):
    return pkt(b"h", z(name, value))


def ins_header(index, name, value):
    return pkt(b"i", struct.pack(">I", index) + z(name, value))


def chg_header(index, name, value):
    return pkt(b"m", struct.pack(">I", index) + z(name, value))


def add_rcpt(addr):
    return pkt(b"+", z(f"<{addr}>"))


def del_rcpt(addr):
    return pkt(b"-", z(f"<{addr}>"))


def chg_from(addr, esmtp_args=None):
    """SMFIR_CHGFROM: "<>" is the null sender; ESMTP parameters may follow the address."""
    data = z(addr if addr == "<>" else f"<{addr}>")
    return pkt(b"e", data + (z(esmtp_args) if esmtp_args is not None else b""))


def repl_body(data):
    return pkt(b"b", data)


def quarantine(reason):
    return pkt(b"q", z(reason))


CONTINUE, ACCEPT, REJECT, TEMPFAIL, DISCARD = pkt(b"c"), pkt(b"a"), pkt(b"r"), pkt(b"t"), pkt(b"d")
HANG = "hang"          # never answer (the MTA's timeout must fire)
CLOSE = "close"        # close the connection instead of answering
GARBAGE = b"\x00\x00\x00\x02Zx"   # an unknown reply command


class MilterPeer:
    """script: {event: bytes | HANG | CLOSE | callable(args) -> bytes}; an event not in the
    script is answered with CONTINUE. eom: modifications sent before the final reply at
    end of message. actions/protocol: what the milter asks for in the negotiation."""

    def __init__(self, script=None, eom=b"", actions=ALL_ACTIONS, protocol=0, optneg=None, port=0, unix_path=None):
        self.script = dict(script or {})
        self.eom = eom
        self.actions = actions
        self.protocol = protocol
        self.optneg = optneg
        self.events = []        # (event, data) in order, across connections
        self.macros = {}        # macro name -> last value
        self.connections = 0
        self.lock = threading.Lock()
        if unix_path:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.bind(str(unix_path))
            self.sock.listen(16)
            self.port = None
            self.address = f"unix:{unix_path}"
        else:
            self.sock = socket.socket()
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # a restart on the same port
            self.sock.bind(("127.0.0.1", port))
            self.sock.listen(16)
            self.port = self.sock.getsockname()[1]
            self.address = f"inet:127.0.0.1:{self.port}"
        self.conns = []
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                self.conns.append(c)
                n = self.connections
            threading.Thread(target=self._serve, args=(c, n), daemon=True).start()

    @staticmethod
    def _recvn(c, n):
        buf = b""
        while len(buf) < n:
            chunk = c.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def _serve(self, c, conn_no):
        try:
            with c:
                while True:
                    (n,) = struct.unpack(">I", self._recvn(c, 4))
                    data = self._recvn(c, n)
                    cmd, data = data[:1], data[1:]
                    if cmd == b"O":
                        c.sendall(self.optneg if self.optneg is not None
                                  else pkt(b"O", struct.pack(">III", 6, self.actions, self.protocol)))
                        continue
                    if cmd == b"D":
                        parts = data[1:].split(b"\0")
                        with self.lock:
                            for k, v in zip(parts[0::2], parts[1::2]):
                                self.macros[k.decode()] = v.decode()
                        continue
                    event = EVENTS.get(cmd, cmd.decode(errors="replace"))
                    with self.lock:
                        self.events.append((event, data, conn_no))
                    if event in ("abort",):
                        continue
                    if event == "quit":
                        return
                    if event == "header" and self.protocol & NR_HDR:
                        continue
                    action = self.script.get(event, CONTINUE)
                    if callable(action):
                        action = action(data)
                    if action == HANG:
                        self.stopped.wait(120)
                        return
                    if action == CLOSE:
                        return
                    if event == "eom":
                        c.sendall(self.eom)
                    c.sendall(action)
        except (EOFError, OSError):
            return

    def seen(self, event):
        with self.lock:
            return [d for e, d, _ in self.events if e == event]

    def session_events(self):
        """The events of the connections that got past connect (rampart's start-up probe
        opens a session that only connects and quits)."""
        with self.lock:
            busy = {n for e, _, n in self.events if e not in ("connect", "quit")}
            return [e for e, _, n in self.events if n in busy]

    def stop(self):
        self.stopped.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)   # wakes the blocked accept(): the port closes now
        except OSError:
            pass
        self.sock.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                c.close()
