"""Brakes on stolen logins (DESIGN.md §3.7): AUTH failure tarpit, lockout per client
address and per user name (a correct password during a lockout is refused too), hourly
message and recipient limits per authenticated user. All logged."""
import smtplib

import pytest

from conftest import DOMAIN, SOCK_TIMEOUT, free_port, no_verify_context
from policy_setup import add_user, configure

LIMITS = ('limits = { auth_failure_delay = "50ms", auth_failure_delay_max = "200ms", auth_lockout_failures = 3, '
          'auth_lockout_window = "10m", max_messages_per_hour = 2, max_recipients_per_hour = 3 }')


@pytest.fixture
def braked(rampart_factory, sink):
    srv = rampart_factory(start=False)
    configure(srv, "all-in-one", [("submission", free_port(),
                                   'permissions = { submit = ["group:staff"], relay = ["group:staff"] }\n' + LIMITS)],
              smarthost_port=sink.port)
    for user in ("alice", "bob", "carol"):
        add_user(srv, user, user + "-secret", "staff")
    srv.start()
    return srv


def session(srv, source):
    c = smtplib.SMTP(srv.host, srv.port, timeout=SOCK_TIMEOUT, source_address=(source, 0))
    c.ehlo("client.test")
    c.starttls(context=no_verify_context())
    c.ehlo("client.test")
    return c


def auth(srv, source, user, password):
    """One AUTH PLAIN exchange (a single attempt, unlike smtplib's login()); the reply code."""
    with session(srv, source) as c:
        c.user, c.password = user, password
        try:
            return c.auth("PLAIN", c.auth_plain)[0]
        except smtplib.SMTPAuthenticationError as e:
            return e.smtp_code


def test_tarpit_then_lockout_per_address(braked):
    assert [auth(braked, "127.0.0.1", "nobody", "guess") for _ in range(3)] == [535, 535, 535]
    fails = [e for e in braked.log_events("smtp.auth") if e.get("result") == "failure"]
    assert [e["delay_ms"] for e in fails] == ["50", "100", "200"], fails   # growing tarpit
    [lock] = braked.log_events("smtp.auth.lockout")
    assert lock["client"] == "127.0.0.1" and lock["locked"] == "address,user", lock
    # locked out: even the right password is refused, with a temporary code
    with session(braked, "127.0.0.1") as c:
        c.user, c.password = "alice", "alice-secret"
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            c.auth("PLAIN", c.auth_plain)
        assert e.value.smtp_code == 454 and e.value.smtp_error.startswith(b"4.7.0 too many authentication failures")
    assert any(e.get("result") == "locked" for e in braked.log_events("smtp.auth"))
    assert auth(braked, "127.0.0.2", "alice", "alice-secret") == 235   # other addresses are not locked


def test_lockout_per_user_across_addresses(braked):
    for source in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
        assert auth(braked, source, "bob", "wrong") == 535
    [lock] = braked.log_events("smtp.auth.lockout")
    assert lock["user"] == "bob" and lock["locked"] == "user", lock
    assert auth(braked, "127.0.0.6", "bob", "bob-secret") == 454       # right password, still locked
    assert auth(braked, "127.0.0.6", "alice", "alice-secret") == 235   # the address is not locked


def test_hourly_message_limit(braked):
    with session(braked, "127.0.0.1") as c:
        c.login("alice", "alice-secret")
        for i in range(2):
            c.sendmail(f"alice@{DOMAIN}", [f"bob@{DOMAIN}"], f"Subject: {i}\r\n\r\nx\r\n")
        code, msg = c.mail(f"alice@{DOMAIN}")
        assert (code, msg) == (450, b"4.7.1 hourly message limit reached for this user; try again later")
    [ev] = braked.log_events("smtp.rate.limited")
    assert ev["principal"] == "user:alice" and ev["limit"] == "limits.max_messages_per_hour", ev
    # another user is not braked
    with session(braked, "127.0.0.1") as c:
        c.login("carol", "carol-secret")
        c.sendmail(f"carol@{DOMAIN}", [f"bob@{DOMAIN}"], "Subject: c\r\n\r\nx\r\n")


def test_hourly_recipient_limit(braked):
    with session(braked, "127.0.0.1") as c:
        c.login("bob", "bob-secret")
        c.sendmail(f"bob@{DOMAIN}", [f"alice@{DOMAIN}", f"carol@{DOMAIN}"], "Subject: 1\r\n\r\nx\r\n")
        assert c.mail(f"bob@{DOMAIN}")[0] == 250
        assert c.rcpt("c@outside.test")[0] == 250
        code, msg = c.rcpt(f"alice@{DOMAIN}")
        assert (code, msg) == (450, b"4.7.1 hourly recipient limit reached for this user; try again later")
    [ev] = braked.log_events("smtp.rate.limited")
    assert ev["limit"] == "limits.max_recipients_per_hour", ev


def test_tarpit_does_not_block_other_sessions(rampart_factory):
    """With one I/O thread, a session waiting out its tarpit leaves the thread free."""
    import base64
    from conftest import RawSMTP
    srv = rampart_factory(start=False)
    configure(srv, "all-in-one", [("submission", free_port(),
                                   'auth = { basic_requires_tls = false }\nlimits = { auth_failure_delay = "5s" }')],
              threads=1)
    add_user(srv, "alice", "alice-secret", "staff")
    srv.start()
    with RawSMTP(srv.host, srv.port) as a, RawSMTP(srv.host, srv.port) as b:
        assert a.read_reply()[0] == 220 and a.cmd("EHLO a.test")[0] == 250
        a.send("AUTH PLAIN " + base64.b64encode(b"\0alice\0wrong").decode() + "\r\n")
        assert b.read_reply()[0] == 220 and b.cmd("EHLO b.test")[0] == 250
        assert b.cmd("NOOP")[0] == 250
        assert a.expect_nothing(timeout=0.2), "the 535 came before the tarpit ended"
        code, lines = a.read_reply(timeout=15)
        assert code == 535, lines
    [ev] = [e for e in srv.log_events("smtp.auth") if e.get("result") == "failure"]
    assert ev["delay_ms"] == "5000", ev
