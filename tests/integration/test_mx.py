"""route = "mx" (RFC 5321 §5.1, RFC 7505) against a real authoritative DNS server.

NSD (Debian package `nsd`, installed by scripts/deps.sh test) serves the zone mx.test on
127.0.0.1:<free port>; rampart's [dns] servers points at it. MX hosts are told apart by
their loopback address: aiosmtpd sinks listen on 127.0.0.2, .3 and .6, all on the
connector's mx_port; 127.0.0.4 has nothing listening (a dead MX host).
"""
import smtplib
import time

import pytest

import nsd
from conftest import RELAY_IP, SOCK_TIMEOUT, free_port, queued_id, wait_for

ZONE = """$ORIGIN mx.test.
$TTL 300
@         IN SOA ns1.mx.test. hostmaster.mx.test. 2026112301 3600 600 86400 300
@         IN NS  ns1
ns1       IN A   127.0.0.1
mx1       IN A   127.0.0.2
mx2       IN A   127.0.0.3
dead      IN A   127.0.0.4
pref      IN MX  20 mx2.mx.test.
pref      IN MX  10 mx1.mx.test.
fallback  IN MX  10 dead.mx.test.
fallback  IN MX  20 mx2.mx.test.
implicit  IN A   127.0.0.6
nullmx    IN MX  0 .
loop      IN MX  10 mx.test.
loop      IN MX  20 mx2.mx.test.
"""


@pytest.fixture(scope="module")
def nameserver(tmp_path_factory):
    """NSD authoritative for mx.test on 127.0.0.1; yields the port."""
    with nsd.serve(tmp_path_factory.mktemp("nsd"), {"mx.test": ZONE}) as port:
        yield port


@pytest.fixture
def mx_setup(nameserver, rampart_factory, sink_factory):
    """rampart with one route = "mx" connector for everything, and sinks on .2, .3, .6."""
    mx_port = free_port("127.0.0.2")
    sinks = {ip: sink_factory(port=mx_port, host=ip) for ip in ("127.0.0.2", "127.0.0.3", "127.0.0.6")}
    extra = "\n".join([
        "[dns]",
        f'servers = ["127.0.0.1:{nameserver}"]',
        'timeout = "2s"',
        "",
        "[[send_connectors]]",
        'name = "internet"',
        'address_spaces = ["*"]',
        'route = "mx"',
        f"mx_port = {mx_port}",
        'tls = "none"',
        # The test network is loopback: allow what an internet-facing connector refuses.
        "allow_private_destinations = true",
    ])
    r = rampart_factory(extra_config=extra, retry_interval="1h")
    return r, sinks, mx_port


@pytest.fixture
def locked_mx(nameserver, rampart_factory, sink_factory):
    """As mx_setup, but with the default allow_private_destinations = false."""
    mx_port = free_port("127.0.0.2")
    sinks = {ip: sink_factory(port=mx_port, host=ip) for ip in ("127.0.0.2", "127.0.0.3", "127.0.0.6")}
    extra = "\n".join(["[dns]", f'servers = ["127.0.0.1:{nameserver}"]', 'timeout = "2s"', "",
                       "[[send_connectors]]", 'name = "internet"', 'address_spaces = ["*"]', 'route = "mx"',
                       f"mx_port = {mx_port}", 'tls = "none"'])
    r = rampart_factory(extra_config=extra, retry_interval="1h")
    return r, sinks, mx_port


def relay(r, rcpt):
    with smtplib.SMTP(r.host, r.port, timeout=SOCK_TIMEOUT, source_address=(RELAY_IP, 0)) as s:
        s.ehlo("client.test")
        code, text = s.mail("sender@example.test")
        assert code == 250, text
        code, text = s.rcpt(rcpt)
        assert code == 250, text
        code, text = s.data(f"From: sender@example.test\r\nTo: {rcpt}\r\nSubject: mx\r\n\r\nHello.\r\n".encode())
        assert code == 250, text
        return queued_id(text)


def attempts(r, qid, timeout=15, final=("delivered", "failed")):
    """delivery.attempt events of qid, once one has a final result."""
    def got():
        evs = [e for e in r.log_events("delivery.attempt") if e.get("qid") == qid]
        return evs if any(e.get("result") in final for e in evs) else None
    return wait_for(got, timeout, what=f"final delivery.attempt for {qid}\n{r.log_tail()}")


def received_by(sink, rcpt, timeout=15):
    return wait_for(lambda: [m for m in sink.messages() if rcpt in m["rcpt_tos"]], timeout,
                    what=f"{rcpt} at sink {sink.host}:{sink.port}")


def test_lowest_preference_wins(mx_setup):
    r, sinks, mx_port = mx_setup
    qid = relay(r, "alice@pref.mx.test")
    [m] = received_by(sinks["127.0.0.2"], "alice@pref.mx.test")
    assert m["mail_from"] == "sender@example.test"
    evs = attempts(r, qid)
    assert [(e["result"], e["relay"]) for e in evs] == [("delivered", f"127.0.0.2:{mx_port}")], evs
    assert not sinks["127.0.0.3"].messages()


def test_fallback_to_next_mx(mx_setup):
    r, sinks, mx_port = mx_setup
    qid = relay(r, "bob@fallback.mx.test")
    received_by(sinks["127.0.0.3"], "bob@fallback.mx.test")
    evs = attempts(r, qid)
    assert [(e["result"], e["relay"]) for e in evs] == [("deferred", f"127.0.0.4:{mx_port}"),
                                                        ("delivered", f"127.0.0.3:{mx_port}")], evs
    assert not sinks["127.0.0.2"].messages()


def test_implicit_mx(mx_setup):
    r, sinks, mx_port = mx_setup
    qid = relay(r, "carol@implicit.mx.test")
    received_by(sinks["127.0.0.6"], "carol@implicit.mx.test")
    assert attempts(r, qid)[-1]["relay"] == f"127.0.0.6:{mx_port}"


def test_address_literal(mx_setup):
    r, sinks, mx_port = mx_setup
    qid = relay(r, "dave@[127.0.0.6]")
    received_by(sinks["127.0.0.6"], "dave@[127.0.0.6]")
    assert attempts(r, qid)[-1]["result"] == "delivered"


@pytest.mark.parametrize("rcpt,why", [("erin@nullmx.mx.test", "null MX"),
                                      ("frank@nosuch.mx.test", "does not exist"),
                                      # rampart's hostname (mx.test, from conftest) is the best MX: RFC 5321 §5.1
                                      ("gail@loop.mx.test", "loops back to myself")])
def test_permanent_dns_failure(mx_setup, rcpt, why):
    r, sinks, _ = mx_setup
    qid = relay(r, rcpt)
    [ev] = attempts(r, qid)
    assert ev["result"] == "failed", ev
    assert why in ev["reason"], ev
    assert ev["rcpts"] == rcpt
    assert all(not s.messages() for s in sinks.values())
    # Final, as after a 5xx: never retried; the sender (a local mailbox) gets the report.
    wait_for(lambda: r.maildir_messages("sender"), timeout=15, what="the failure report")
    wait_for(lambda: r.spool_count() == 0, timeout=15, what="the spool to empty")
    report = r.maildir_messages("sender")[0]
    assert b"Action: failed" in report and rcpt.encode() in report
    assert len(attempts(r, qid)) == 1


def test_temporary_dns_failure(nameserver, rampart_factory):
    """A name server that does not answer gives deferred, not failed."""
    dead_dns = free_port()
    extra = "\n".join(["[dns]", f'servers = ["127.0.0.1:{dead_dns}"]', 'timeout = "1s"', "",
                       "[[send_connectors]]", 'name = "internet"', 'address_spaces = ["*"]', 'route = "mx"'])
    r = rampart_factory(extra_config=extra, retry_interval="1h")
    qid = relay(r, "gina@pref.mx.test")
    [ev] = attempts(r, qid, timeout=20, final=("deferred", "failed", "delivered"))
    assert ev["result"] == "deferred", ev


@pytest.mark.parametrize("rcpt,what", [("dave@[127.0.0.6]", "address literal [127.0.0.6] is loopback"),
                                       ("alice@pref.mx.test", "every MX address of pref.mx.test is reserved"),
                                       ("carol@implicit.mx.test", "every MX address of implicit.mx.test is reserved")])
def test_reserved_destinations_refused_by_default(locked_mx, rcpt, what):
    """Issue 14: a client (address literal) or DNS (MX → 127.0.0.x) must not choose a loopback
    destination for an mx connector: the recipient fails 5.4.4 and nothing connects."""
    r, sinks, _ = locked_mx
    qid = relay(r, rcpt)
    [ev] = attempts(r, qid)
    assert ev["result"] == "failed" and ev["status"] == "5.4.4", ev
    assert what in ev["reason"] and "allow_private_destinations" in ev["reason"], ev
    assert all(not s.messages() for s in sinks.values())
    # Never retried: the sender (a local mailbox) gets the failure report.
    wait_for(lambda: r.maildir_messages("sender"), timeout=15, what="the failure report")
    report = r.maildir_messages("sender")[0]
    assert b"Action: failed" in report and b"5.4.4" in report


def test_address_literal_sender_gets_no_report_from_anonymous_session(locked_mx):
    """Issue 14: MAIL FROM:<x@[127.0.0.40]> plus NOTIFY=SUCCESS from an anonymous client must not
    make rampart send a report to the address literal (logged dsn.suppressed instead)."""
    r, sinks, _ = locked_mx
    with smtplib.SMTP(r.host, r.port, timeout=SOCK_TIMEOUT) as s:
        s.ehlo("client.test")
        code, text = s.mail("x@[127.0.0.40]")
        assert code == 250, text
        code, text = s.rcpt("someone@example.test", ["NOTIFY=SUCCESS"])
        assert code == 250, text
        code, text = s.data(b"From: x@[127.0.0.40]\r\nTo: someone@example.test\r\nSubject: probe\r\n\r\nHi.\r\n")
        assert code == 250, text
        qid = queued_id(text)
    ev = wait_for(lambda: [e for e in r.log_events("dsn.suppressed") if e.get("qid") == qid], 15,
                  what=f"dsn.suppressed for {qid}\n{r.log_tail()}")[0]
    assert ev["kind"] == "delivered" and "address literal" in ev["reason"], ev
    assert not [e for e in r.log_events("dsn.queued") if e.get("qid") == qid]
    wait_for(lambda: r.spool_count() == 0, timeout=15, what="the spool to empty")
