"""The shared resolver's cache end to end (issue 9): a DNS server written for this test
(UDP on loopback, counting every question it gets) serves the SPF record of cache.test and
NXDOMAIN, with an SOA, for everything else. Two messages from the same sender domain through
[sender_auth] cost one SPF TXT query and one _dmarc query, not two of each: the second
message is answered from the cache (positive answer for its TTL, the negative _dmarc answer
for the SOA's negative TTL, RFC 2308). Before the shared resolver every message asked again."""
import smtplib
import socket
import struct
import subprocess
import threading
from collections import Counter

import pytest

from conftest import DOMAIN, RAMPART_BIN

CLIENT = "127.0.0.21"
SPF = b"v=spf1 ip4:127.0.0.21 -all"


def name_of(q, p):
    labels = []
    while q[p] != 0:
        n = q[p]
        labels.append(q[p + 1:p + 1 + n].decode("ascii").lower())
        p += 1 + n
    return ".".join(labels), p + 1


def encode_name(name):
    return b"".join(bytes([len(l)]) + l.encode() for l in name.split(".") if l) + b"\0"


class CountingDns:
    """Answers TXT for cache.test; NXDOMAIN with an SOA (negative TTL 300) otherwise."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.asked = Counter()
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def answer(self, query):
        qid, = struct.unpack("!H", query[:2])
        name, end = name_of(query, 12)
        qtype, = struct.unpack("!H", query[end:end + 2])
        with self.lock:
            self.asked[(name, qtype)] += 1
        question = query[12:end + 4]
        if name == "cache.test" and qtype == 16:
            rdata = bytes([len(SPF)]) + SPF
            rr = b"\xc0\x0c" + struct.pack("!HHIH", 16, 1, 300, len(rdata)) + rdata
            return struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question + rr
        soa = encode_name("ns.cache.test") + encode_name("admin.cache.test") + struct.pack("!IIIII", 1, 3600, 600, 86400, 300)
        auth = encode_name("cache.test") + struct.pack("!HHIH", 6, 1, 300, len(soa)) + soa
        rcode = 0 if name == "cache.test" else 3
        return struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, 0, 1, 0) + question + auth

    def run(self):
        while not self.stopping:
            try:
                query, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                self.sock.sendto(self.answer(query), peer)
            except (IndexError, struct.error, UnicodeDecodeError):
                pass   # not a query we understand: no answer

    def count(self, name, qtype):
        with self.lock:
            return self.asked[(name, qtype)]

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def dns_server():
    d = CountingDns()
    yield d
    d.stop()


def send(srv, subject):
    with smtplib.SMTP(srv.host, srv.port, timeout=30, source_address=(CLIENT, 0)) as c:
        c.ehlo("client.cache.test")
        assert c.mail("someone@cache.test")[0] == 250
        code, text = c.rcpt(f"alice@{DOMAIN}")
        assert code == 250, text
        code, text = c.data(f"From: someone@cache.test\r\nSubject: {subject}\r\n\r\nbody\r\n".encode())
        assert code == 250, text


def test_two_messages_from_one_domain_ask_once(rampart_factory, dns_server):
    extra = (f'[dns]\nservers = ["127.0.0.1:{dns_server.port}"]\ntimeout = "2s"\n\n'
             '[sender_auth]\nspf_fail = "reject"\n')
    srv = rampart_factory("cache", start=False, listener_keys={"filters": True}, extra_config=extra)
    r = subprocess.run([RAMPART_BIN, "user", "add", "alice", "--address", f"alice@{DOMAIN}", "-c", str(srv.config_path)],
                       input="alice-secret\n", capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    srv.start()
    send(srv, "first")
    assert dns_server.count("cache.test", 16) == 1
    assert dns_server.count("_dmarc.cache.test", 16) == 1
    send(srv, "second")
    # Both answers came from the cache the second time.
    assert dns_server.count("cache.test", 16) == 1
    assert dns_server.count("_dmarc.cache.test", 16) == 1
