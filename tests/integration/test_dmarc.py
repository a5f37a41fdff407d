"""DKIM verification and DMARC in the sender authentication agent (issue 9, DESIGN.md §11
[sender_auth]) end to end: NSD serves SPF, DKIM key (sel._domainkey.dm.test, an RSA key made
by the openssl CLI; ed._domainkey.dm.test, an Ed25519 key) and DMARC (_dmarc.<domain>)
records; the messages are signed here, at test time, by Debian's python3-dkim (dkimpy, the
signer tests/unit/senderauth/data/make_data.py uses), and sent with smtplib from 127.0.0.21
(authorized by the SPF records) or 127.0.0.22 (not authorized: SPF fail, which these
servers accept so that DMARC decides, spf_fail = "accept").

Each outcome reaches its action: aligned DKIM pass → delivered with dkim=pass header.d=
and dmarc=pass; a tampered body under p=reject → 550 5.7.1 at end of data; under
p=quarantine → in `rampart quarantine list`; under p=none → delivered with dmarc=fail; no
signature but an aligned SPF pass → dmarc=pass; a DKIM pass for an unaligned d= → dmarc=fail;
a missing key → dkim=permerror; a key look-up that times out → dkim=temperror (a small
UDP proxy in front of NSD drops the questions for that one name)."""
import base64
import contextlib
import socket
import subprocess
import threading

import pytest

import nsd
from conftest import DOMAIN, RAMPART_BIN, wait_for

dkim = pytest.importorskip("dkim", reason="python3-dkim is not installed (scripts/deps.sh test installs it)")
nacl_signing = pytest.importorskip("nacl.signing", reason="python3-nacl is not installed (scripts/deps.sh test installs it)")

GOOD = "127.0.0.21"   # authorized by the SPF records below
BAD = "127.0.0.22"


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, check=True, capture_output=True, timeout=60).stdout


def txt_strings(record: bytes) -> str:
    """A TXT record as zone-file strings of at most 255 characters each."""
    s = record.decode()
    return " ".join(f'"{s[i:i + 250]}"' for i in range(0, len(s), 250))


@pytest.fixture(scope="module")
def keys():
    rsa_pem = openssl("genrsa", "-traditional", "2048")
    rsa_der = openssl("rsa", "-pubout", "-outform", "DER", data=rsa_pem)
    ed = nacl_signing.SigningKey.generate()
    return {
        "rsa": rsa_pem,
        "rsa_txt": b"v=DKIM1; k=rsa; p=" + base64.b64encode(rsa_der),
        "ed": base64.b64encode(bytes(ed)),
        "ed_txt": b"v=DKIM1; k=ed25519; p=" + base64.b64encode(bytes(ed.verify_key)),
    }


def zones(keys):
    spf = f'"v=spf1 ip4:{GOOD} -all"'
    dm = f"""$ORIGIN dm.test.
$TTL 60
@      SOA ns.dm.test. admin.dm.test. 1 3600 600 86400 60
@      NS  ns.dm.test.
ns     A   127.0.0.1
reject TXT {spf}
_dmarc.reject TXT "v=DMARC1; p=reject"
quar   TXT {spf}
_dmarc.quar TXT "v=DMARC1; p=quarantine"
none   TXT {spf}
_dmarc.none TXT "v=DMARC1; p=none"
sel._domainkey  TXT {txt_strings(keys["rsa_txt"])}
slow._domainkey TXT {txt_strings(keys["rsa_txt"])}
ed._domainkey   TXT {txt_strings(keys["ed_txt"])}
"""
    other = f"""$ORIGIN other.test.
$TTL 60
@      SOA ns.other.test. admin.other.test. 1 3600 600 86400 60
@      NS  ns.other.test.
ns     A   127.0.0.1
sel._domainkey TXT {txt_strings(keys["rsa_txt"])}
"""
    return {"dm.test": dm, "other.test": other}


@pytest.fixture(scope="module")
def nameserver(tmp_path_factory, keys):
    with nsd.serve(tmp_path_factory.mktemp("nsd"), zones(keys)) as port:
        yield port


def qname(packet: bytes) -> str:
    """The question name of a DNS query (RFC 1035 §4.1.2), lower-case, no trailing dot."""
    labels, pos = [], 12
    while pos < len(packet) and packet[pos]:
        n = packet[pos]
        labels.append(packet[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    return ".".join(labels).lower()


@contextlib.contextmanager
def dropping_proxy(upstream_port, drop):
    """A UDP DNS forwarder on 127.0.0.1:<free port> to NSD that never answers questions for
    the name `drop` (a name server that does not answer). Stopped on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()
    dropped = []

    def serve():
        while not stop.is_set():
            try:
                packet, peer = sock.recvfrom(4096)
            except socket.timeout:
                continue
            if qname(packet) == drop:
                dropped.append(drop)
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as up:
                up.settimeout(5)
                up.sendto(packet, ("127.0.0.1", upstream_port))
                try:
                    sock.sendto(up.recvfrom(65535)[0], peer)
                except socket.timeout:
                    pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield sock.getsockname()[1], dropped
    finally:
        stop.set()
        t.join(timeout=5)
        sock.close()


def server(rampart_factory, dns_port, name="dmarc", **keys):
    settings = {"spf_fail": "accept", **keys}
    sa = "\n".join(f'{k} = "{v}"' for k, v in settings.items())
    extra = f'[dns]\nservers = ["127.0.0.1:{dns_port}"]\ntimeout = "1s"\n\n[sender_auth]\n{sa}\n'
    srv = rampart_factory(name, start=False, listener_keys={"filters": True}, extra_config=extra)
    srv.start()
    return srv


def message(from_domain, subject):
    return (f"From: Alice <alice@{from_domain}>\r\n"
            f"To: <alice@{DOMAIN}>\r\n"
            f"Subject: {subject}\r\n"
            f"Date: Tue, 01 Dec 2026 18:00:00 +0000\r\n"
            f"Message-ID: <{subject}@{from_domain}>\r\n"
            f"\r\n"
            f"Hello,\r\n\r\nthe meeting is at 10:00.\r\n").encode()


def sign(keys, msg, d=b"dm.test", selector=b"sel", algorithm=b"rsa-sha256"):
    key = keys["ed"] if algorithm == b"ed25519-sha256" else keys["rsa"]
    return dkim.sign(msg, selector, d, key, canonicalize=(b"relaxed", b"relaxed"), signature_algorithm=algorithm,
                     include_headers=[b"from", b"to", b"subject", b"date", b"message-id"]) + msg


def send(srv, source, sender, data):
    """One transaction; returns the reply to the end of data (code, text)."""
    import smtplib
    with smtplib.SMTP(srv.host, srv.port, timeout=30, source_address=(source, 0)) as c:
        c.ehlo("client.dm.test")
        assert c.mail(sender)[0] == 250
        assert c.rcpt(f"alice@{DOMAIN}")[0] == 250
        try:
            return c.data(data)
        except smtplib.SMTPDataError as e:
            return e.smtp_code, e.smtp_error


def delivered(srv, count):
    msgs = wait_for(lambda: (lambda m: m if len(m) >= count else None)(srv.maildir_messages("alice")), timeout=30,
                    what=f"{count} message(s) delivered")
    return {next(l for l in m.split(b"\r\n") if l.startswith(b"Subject:"))[9:].decode(): m for m in msgs}


def results_of(message):
    """rampart's Authentication-Results field (the first one), unfolded."""
    head = message.split(b"\r\n\r\n", 1)[0].replace(b"\r\n\t", b" ").replace(b"\r\n ", b" ")
    return [l.decode() for l in head.split(b"\r\n") if l.lower().startswith(b"authentication-results:")]


def test_dkim_and_dmarc_outcomes_reach_their_actions(rampart_factory, nameserver, keys):
    srv = server(rampart_factory, nameserver)
    tampered = lambda m: m.replace(b"10:00", b"11:00")
    # Aligned DKIM pass (d=dm.test, From reject.dm.test; relaxed alignment), SPF fail accepted.
    assert send(srv, BAD, "x@reject.dm.test", sign(keys, message("reject.dm.test", "rsa-pass")))[0] == 250
    assert send(srv, BAD, "x@reject.dm.test",
                sign(keys, message("reject.dm.test", "ed-pass"), selector=b"ed", algorithm=b"ed25519-sha256"))[0] == 250
    # Tampered body: DKIM fail, SPF fail → DMARC fail.
    code, text = send(srv, BAD, "x@reject.dm.test", tampered(sign(keys, message("reject.dm.test", "rejected"))))
    assert (code, text) == (550, b"5.7.1 DMARC policy of reject.dm.test (p=reject) refuses this message: "
                                 b"no aligned SPF or DKIM pass"), text
    assert send(srv, BAD, "x@quar.dm.test", tampered(sign(keys, message("quar.dm.test", "quarantined"))))[0] == 250
    assert send(srv, BAD, "x@none.dm.test", tampered(sign(keys, message("none.dm.test", "none-fail"))))[0] == 250
    # No signature, SPF pass for the From domain itself.
    assert send(srv, GOOD, "x@reject.dm.test", message("reject.dm.test", "spf-aligned"))[0] == 250
    # DKIM pass for other.test, From none.dm.test: not aligned.
    assert send(srv, BAD, "x@none.dm.test", sign(keys, message("none.dm.test", "unaligned"), d=b"other.test"))[0] == 250
    # No key record at gone._domainkey.dm.test.
    assert send(srv, GOOD, "x@none.dm.test", sign(keys, message("none.dm.test", "no-key"), selector=b"gone"))[0] == 250

    msgs = delivered(srv, 6)
    assert set(msgs) == {"rsa-pass", "ed-pass", "none-fail", "spf-aligned", "unaligned", "no-key"}, set(msgs)
    ar = {s: results_of(m) for s, m in msgs.items()}
    for s, fields in ar.items():
        assert len(fields) == 1 and fields[0].startswith(f"Authentication-Results: {srv.hostname}; spf="), (s, fields)
    for s, sel in (("rsa-pass", "sel"), ("ed-pass", "ed")):
        assert f" dkim=pass header.d=dm.test header.s={sel} header.b=" in ar[s][0], ar[s]
        assert " dmarc=pass (p=reject dis=none; DKIM pass aligned \\(d=dm.test\\)) header.from=reject.dm.test" in ar[s][0], ar[s]
        assert " spf=fail " in ar[s][0], ar[s]
    assert " dkim=fail (body hash mismatch) header.d=dm.test header.s=sel" in ar["none-fail"][0], ar["none-fail"]
    assert " dmarc=fail (p=none dis=none; " in ar["none-fail"][0], ar["none-fail"]
    assert " dkim=none (no signature); dmarc=pass (p=reject dis=none; SPF pass aligned" in ar["spf-aligned"][0], ar["spf-aligned"]
    assert " dkim=pass header.d=other.test header.s=sel" in ar["unaligned"][0], ar["unaligned"]
    assert " dmarc=fail (p=none dis=none; no aligned SPF or DKIM pass \\(DKIM pass d=other.test not aligned\\)" in ar["unaligned"][0], \
        ar["unaligned"]
    assert " dkim=permerror (no key for signature) header.d=dm.test header.s=gone" in ar["no-key"][0], ar["no-key"]
    assert " dmarc=pass " in ar["no-key"][0], ar["no-key"]   # SPF pass aligned

    r = subprocess.run([RAMPART_BIN, "quarantine", "list", "-c", str(srv.config_path)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "<x@quar.dm.test>" in r.stdout and "dmarc=fail for quar.dm.test" in r.stdout and "policy p=quarantine" in r.stdout, r.stdout
    refused = [e for e in srv.log_events("filter.verdict") if e.get("rule", "").startswith("sender_auth.dmarc")]
    assert sorted(e.get("rule") for e in refused) == ["sender_auth.dmarc_quarantine", "sender_auth.dmarc_reject"], refused


def test_a_key_lookup_that_times_out_is_dkim_temperror(rampart_factory, nameserver, keys):
    with dropping_proxy(nameserver, "slow._domainkey.dm.test") as (port, dropped):
        srv = server(rampart_factory, port, "timeout")
        assert send(srv, GOOD, "x@none.dm.test", sign(keys, message("none.dm.test", "slow-key"), selector=b"slow"))[0] == 250
        msg = delivered(srv, 1)["slow-key"]
        assert dropped, "the proxy never saw the key question"
    ar = results_of(msg)
    assert " dkim=temperror (key lookup failed: " in ar[0] and " header.d=dm.test header.s=slow" in ar[0], ar
    assert " dmarc=pass " in ar[0], ar   # SPF pass aligned: the DKIM temperror does not decide


def test_missing_public_suffix_list_stops_the_start(rampart_factory, nameserver, tmp_path):
    srv = rampart_factory("nopsl", start=False, listener_keys={"filters": True},
                          extra_config=f'[sender_auth]\npublic_suffix_list = "{tmp_path}/missing.dat"\n')
    r = subprocess.run([RAMPART_BIN, "serve", "-c", str(srv.config_path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "sender_auth.public_suffix_list" in r.stderr and f"{tmp_path}/missing.dat" in r.stderr, r.stderr
