"""Sender authentication (issue 9, DESIGN.md §5, §11 [sender_auth]) end to end: NSD serves
SPF records for spf.test, rampart asks it through [dns] servers, and smtplib clients bound
to 127.0.0.21 (authorized by the records) and 127.0.0.22 (not authorized) send mail. Each
SPF result reaches its action (550 5.7.23 for a refused fail, 550 5.7.24 for a refused
permerror, 451 4.7.24 for temperror, delivery otherwise) and the delivered message carries
rampart's Authentication-Results; an incoming one claiming rampart's hostname is removed,
one of another authserv-id is kept."""
import smtplib
import subprocess

import pytest

import nsd
from conftest import DOMAIN, RAMPART_BIN, wait_for

GOOD = "127.0.0.21"   # authorized by the records below
BAD = "127.0.0.22"

INCLUDES = "\n".join(f'i{i} TXT "v=spf1 ip4:10.0.0.{i} -all"' for i in range(50))
# 50 includes: over 255 characters, so several strings of one record (RFC 7208 §3.3 joins them).
MANY = '" "'.join(" ".join(f"include:i{i}.spf.test" for i in range(k, k + 10)) + " " for k in range(0, 50, 10))

ZONE = f"""$ORIGIN spf.test.
$TTL 60
@     SOA ns.spf.test. admin.spf.test. 1 3600 600 86400 60
@     NS  ns.spf.test.
ns    A   127.0.0.1
pass  TXT "v=spf1 ip4:{GOOD} -all"
soft  TXT "v=spf1 ip4:{GOOD} ~all"
nospf A   192.0.2.1
split TXT "v=spf1 ip4:192.0.2.99 " "ip4:{GOOD} -all"
amx   TXT "v=spf1 a:host.spf.test/32 mx -all"
amx   MX  10 mail.spf.test.
host  A   192.0.2.7
mail  A   {GOOD}
loop  TXT "v=spf1 include:loop2.spf.test -all"
loop2 TXT "v=spf1 include:loop.spf.test -all"
many  TXT "v=spf1 {MANY} -all"
void  TXT "v=spf1 a:v1.spf.test a:v2.spf.test a:v3.spf.test ip4:{GOOD} -all"
helo  TXT "v=spf1 ip4:{GOOD} -all"
ptr   TXT "v=spf1 ptr:spf.test -all"
ptrhost A {GOOD}
exists TXT "v=spf1 exists:%{{ir}}.allow.spf.test -all"
21.0.0.127.allow A 127.0.0.2
{INCLUDES}
"""


REVERSE = f"""$ORIGIN 0.0.127.in-addr.arpa.
$TTL 60
@     SOA ns.spf.test. admin.spf.test. 1 3600 600 86400 60
@     NS  ns.spf.test.
21    PTR ptrhost.spf.test.
22    PTR ptrhost.spf.test.
"""


@pytest.fixture(scope="module")
def nameserver(tmp_path_factory):
    with nsd.serve(tmp_path_factory.mktemp("nsd"), {"spf.test": ZONE, "0.0.127.in-addr.arpa": REVERSE}) as port:
        yield port


def server(rampart_factory, nameserver, name="spf", **keys):
    settings = {"spf_fail": "reject", "spf_softfail": "stamp", **keys}
    sa = "\n".join(f'{k} = "{v}"' for k, v in settings.items())
    extra = f'[dns]\nservers = ["127.0.0.1:{nameserver}"]\ntimeout = "2s"\n\n[sender_auth]\n{sa}\n'
    srv = rampart_factory(name, start=False, listener_keys={"filters": True}, extra_config=extra)
    r = subprocess.run([RAMPART_BIN, "user", "add", "alice", "--address", f"alice@{DOMAIN}", "-c", str(srv.config_path)],
                       input="alice-secret\n", capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    srv.start()
    return srv


def send(srv, source, sender, subject, helo="client.spf.test", extra_headers=b""):
    """One transaction from `source`; returns the RCPT reply (code, text)."""
    with smtplib.SMTP(srv.host, srv.port, timeout=30, source_address=(source, 0)) as c:
        c.ehlo(helo)
        assert c.mail(sender)[0] == 250
        code, text = c.rcpt(f"alice@{DOMAIN}")
        if code == 250:
            c.data(extra_headers + f"Subject: {subject}\r\n\r\nbody\r\n".encode())
        return code, text


def delivered(srv, count):
    msgs = wait_for(lambda: (lambda m: m if len(m) >= count else None)(srv.maildir_messages("alice")), timeout=30,
                    what=f"{count} message(s) delivered")
    return {next(l for l in m.split(b"\r\n") if l.startswith(b"Subject:"))[9:].decode(): m for m in msgs}


def results_of(message):
    """The Authentication-Results fields of a message's header, unfolded."""
    head = message.split(b"\r\n\r\n", 1)[0].replace(b"\r\n\t", b" ").replace(b"\r\n ", b" ")
    return [l.decode() for l in head.split(b"\r\n") if l.lower().startswith(b"authentication-results:")]


@pytest.fixture
def spf_server(rampart_factory, nameserver):
    return server(rampart_factory, nameserver)


def test_each_result_reaches_its_action_and_header(spf_server):
    srv = spf_server
    assert send(srv, GOOD, "x@pass.spf.test", "pass")[0] == 250
    assert send(srv, BAD, "x@pass.spf.test", "fail") == (
        550, b"5.7.23 SPF fail: pass.spf.test does not authorize this client to send its mail")
    assert send(srv, BAD, "x@soft.spf.test", "softfail")[0] == 250
    assert send(srv, BAD, "x@nospf.spf.test", "none")[0] == 250
    assert send(srv, GOOD, "x@split.spf.test", "split")[0] == 250
    assert send(srv, GOOD, "x@amx.spf.test", "amx")[0] == 250
    assert send(srv, GOOD, "x@loop.spf.test", "loop")[0] == 250          # permerror: stamp (default)
    assert send(srv, GOOD, "x@many.spf.test", "many")[0] == 250
    assert send(srv, GOOD, "x@void.spf.test", "void")[0] == 250
    assert send(srv, GOOD, "", "helo", helo="helo.spf.test")[0] == 250
    assert send(srv, GOOD, "x@ptr.spf.test", "ptr")[0] == 250             # PTR resolves back: pass
    assert send(srv, BAD, "x@ptr.spf.test", "ptr")[0] == 550              # PTR does not resolve back
    assert send(srv, GOOD, "x@exists.spf.test", "exists")[0] == 250
    assert send(srv, BAD, "x@exists.spf.test", "exists")[0] == 550
    msgs = delivered(srv, 11)
    assert "fail" not in msgs
    expect = {
        "pass": "spf=pass", "softfail": "spf=softfail", "none": "spf=none", "split": "spf=pass", "amx": "spf=pass",
        "loop": "spf=permerror", "many": "spf=permerror", "void": "spf=permerror", "helo": "spf=pass",
        "ptr": "spf=pass", "exists": "spf=pass",
    }
    for subject, result in expect.items():
        ar = results_of(msgs[subject])
        assert len(ar) == 1, (subject, ar)
        assert ar[0].startswith(f"Authentication-Results: {srv.hostname}; {result} "), (subject, ar)
    assert " smtp.helo=helo.spf.test; dkim=none (no signature); dmarc=" in results_of(msgs["helo"])[0]
    assert " smtp.mailfrom=x@pass.spf.test; dkim=none (no signature); dmarc=" in results_of(msgs["pass"])[0]
    assert "more than 10 DNS-querying terms" in results_of(msgs["many"])[0]
    assert "void DNS look-ups" in results_of(msgs["void"])[0]
    for stamped in ("softfail", "loop", "many", "void"):
        assert b"\r\nX-Rampart-Sender-Auth: spf=" in msgs[stamped] or msgs[stamped].startswith(b"X-Rampart-Sender-Auth:"), stamped
    for clean in ("pass", "none", "split", "amx", "helo"):
        assert b"X-Rampart-Sender-Auth" not in msgs[clean], clean
    refused = [e for e in srv.log_events("smtp.rcpt.refused") if e.get("rule", "").startswith("sender_auth")]
    assert [e.get("rule") for e in refused] == ["sender_auth.spf_fail"] * 3, refused


def test_fail_is_delivered_and_stamped_with_spf_fail_stamp(rampart_factory, nameserver):
    srv = server(rampart_factory, nameserver, "stamp", spf_fail="stamp")
    assert send(srv, BAD, "x@pass.spf.test", "fail",
                extra_headers=b"X-Rampart-Sender-Auth: spf=pass (forged)\r\n")[0] == 250
    msg = delivered(srv, 1)["fail"]
    assert results_of(msg)[0].startswith(f"Authentication-Results: {srv.hostname}; spf=fail "), msg
    assert msg.count(b"X-Rampart-Sender-Auth:") == 1, msg
    assert b"X-Rampart-Sender-Auth: spf=fail (pass.spf.test)\r\n" in msg, msg


def test_permerror_rejected_when_configured(rampart_factory, nameserver):
    srv = server(rampart_factory, nameserver, "permerror", spf_permerror="reject", spf_softfail="reject")
    for domain in ("loop.spf.test", "many.spf.test"):
        assert send(srv, GOOD, f"x@{domain}", domain) == (
            550, f"5.7.24 SPF permerror: the SPF record of {domain} cannot be evaluated".encode())
    assert send(srv, BAD, "x@soft.spf.test", "soft") == (
        550, b"5.7.23 SPF softfail: soft.spf.test does not authorize this client to send its mail")


def test_temperror_is_451(spf_server):
    # NSD refuses questions outside its zones: the TXT look-up fails, not void.
    assert send(spf_server, GOOD, "x@elsewhere.example", "temp") == (451, b"4.7.24 SPF temperror for elsewhere.example; try again later")


def test_forged_results_claiming_our_hostname_are_removed(spf_server):
    srv = spf_server
    forged = (f"Authentication-Results: {srv.hostname}; spf=pass smtp.mailfrom=ceo@{DOMAIN}\r\n"
              f"Authentication-Results: (c) {srv.hostname.upper()};\r\n\tdkim=pass header.d={DOMAIN}\r\n"
              "Authentication-Results: upstream.example.net; spf=fail smtp.mailfrom=x@soft.spf.test\r\n").encode()
    assert send(srv, BAD, "x@soft.spf.test", "forged", extra_headers=forged)[0] == 250
    msg = delivered(srv, 1)["forged"]
    ar = results_of(msg)
    assert len(ar) == 2, ar
    assert ar[0].startswith(f"Authentication-Results: {srv.hostname}; spf=softfail "), ar
    assert ar[1] == "Authentication-Results: upstream.example.net; spf=fail smtp.mailfrom=x@soft.spf.test", ar
    assert f"ceo@{DOMAIN}".encode() not in msg and b"dkim=pass" not in msg, msg


def test_explain_says_spf_is_not_evaluated_offline(spf_server):
    r = subprocess.run([RAMPART_BIN, "explain", "-c", str(spf_server.config_path), "--listener", "default",
                        "--client-ip", BAD, "--mail-from", "x@pass.spf.test", "--rcpt", f"alice@{DOMAIN}"],
                       capture_output=True, text=True, timeout=30)
    assert "filter sender_auth" in r.stdout and "not evaluated offline (use --online)" in r.stdout, r.stdout
