"""Basic authentication (SASL PLAIN/LOGIN after TLS) and the permission scenarios of
DESIGN.md §3/§4 that need it: relay through a group grant, the SMTP AUTH attack (a valid
login without a relay grant), empty submit list = servers only, sender ownership.
Users are created with the real `rampart user/group` commands."""
import base64
import smtplib
import subprocess

import pytest

from conftest import DOMAIN, RAMPART_BIN, no_verify_context, wait_for


def rampart_cli(srv, *args, stdin=None):
    r = subprocess.run([RAMPART_BIN, *args, "-c", str(srv.config_path)], input=stdin, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture
def authsrv(rampart_factory, sink):
    srv = rampart_factory(start=False, smarthost_port=sink.port)
    text = srv.config_text().replace(
        'tls = "starttls"',
        'tls = "starttls"\nauth = { basic = true }\n'
        'permissions = { submit = ["group:staff"], relay = ["group:relay-apps"] }', 1)
    srv.config_path.write_text(text)
    rampart_cli(srv, "user", "add", "app1", "--address", f"app1@{DOMAIN}", stdin="app-secret\n")
    rampart_cli(srv, "user", "add", "alice", "--address", f"alice@{DOMAIN}", stdin="alice-secret\n")
    rampart_cli(srv, "user", "add", "mallory", "--address", f"mallory@{DOMAIN}", stdin="mallory-secret\n")
    rampart_cli(srv, "group", "add", "apps", "--member", "user:app1")
    rampart_cli(srv, "group", "add", "relay-apps", "--member", "group:apps")   # nested
    rampart_cli(srv, "group", "add", "staff", "--member", "user:alice")
    srv.start()
    return srv


def login(srv, user, password, tls=True):
    c = smtplib.SMTP(srv.host, srv.port, timeout=10)
    c.ehlo("client.test")
    if tls:
        c.starttls(context=no_verify_context())
        c.ehlo("client.test")
    c.login(user, password)
    return c


def test_auth_only_after_tls(authsrv):
    with smtplib.SMTP(authsrv.host, authsrv.port, timeout=10) as c:
        c.ehlo("client.test")
        assert not c.has_extn("auth")
        code, msg = c.docmd("AUTH", "PLAIN AGFwcDEAYXBwLXNlY3JldA==")
        assert code == 538, msg
        c.starttls(context=no_verify_context())
        c.ehlo("client.test")
        assert "PLAIN" in c.esmtp_features["auth"] and "LOGIN" in c.esmtp_features["auth"]


def test_wrong_password_is_535(authsrv):
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        login(authsrv, "app1", "nope")
    assert e.value.smtp_code == 535
    with pytest.raises(smtplib.SMTPAuthenticationError):
        login(authsrv, "nobody", "nope")
    assert any(ev.get("result") == "failure" for ev in authsrv.log_events("smtp.auth"))


def test_relay_through_nested_group_grant(authsrv, sink):
    with login(authsrv, "app1", "app-secret") as c:
        c.sendmail(f"app1@{DOMAIN}", ["someone@outside.test"], "Subject: via app\r\n\r\nhello\r\n")
    from conftest import wait_for
    wait_for(lambda: len(sink.messages()) == 1, timeout=20, what="relayed message at the sink")


def test_smtp_auth_attack_valid_login_cannot_relay(authsrv):
    with login(authsrv, "alice", "alice-secret") as c:
        assert c.mail(f"alice@{DOMAIN}")[0] == 250
        code, msg = c.rcpt("victim@outside.test")
        assert (code, msg) == (550, b"5.7.1 relaying denied")
        assert c.rcpt(f"app1@{DOMAIN}")[0] == 250     # submitting inside is permitted
        assert c.rcpt(f"bob@{DOMAIN}")[0] == 550      # ... to known recipients only (5.1.1)


def test_user_without_submit_grant_is_refused(authsrv):
    with login(authsrv, "mallory", "mallory-secret") as c:
        code, msg = c.mail(f"mallory@{DOMAIN}")
        assert code == 550 and b"not permitted" in msg


def test_user_may_send_only_as_own_address(authsrv):
    with login(authsrv, "alice", "alice-secret") as c:
        code, msg = c.mail(f"ceo@{DOMAIN}")
        assert code == 550 and b"not one of the authenticated user's addresses" in msg


def test_explain_agrees_for_users(authsrv):
    base = [RAMPART_BIN, "explain", "-c", str(authsrv.config_path), "--listener", "default",
            "--client-ip", "127.0.0.1", "--tls"]
    r = subprocess.run(base + ["--user", "app1", "--mail-from", f"app1@{DOMAIN}", "--rcpt", "x@outside.test"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0 and "[decided by permissions.relay]" in r.stdout, r.stdout
    r = subprocess.run(base + ["--user", "alice", "--mail-from", f"alice@{DOMAIN}", "--rcpt", "x@outside.test"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 1 and "=> 550 5.7.1 relaying denied" in r.stdout, r.stdout


def test_directory_reload_on_sighup(authsrv):
    import signal
    from conftest import wait_for
    with pytest.raises(smtplib.SMTPAuthenticationError):
        login(authsrv, "newbie", "newbie-secret")
    rampart_cli(authsrv, "user", "add", "newbie", "--address", f"newbie@{DOMAIN}", stdin="newbie-secret\n")
    authsrv.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: len(authsrv.log_events("directory.loaded")) >= 2, timeout=10, what="directory reload")
    with login(authsrv, "newbie", "newbie-secret") as c:
        assert c.noop()[0] == 250


def test_deep_directory_on_sighup_keeps_the_old_one(authsrv):
    """A directory file nested 50,000 levels deep used to crash the TOML library inside the
    running server on SIGHUP (silently: SIGSEGV). Now the reload fails, is logged with the
    file's line, and the server goes on with the directory it had."""
    import signal
    from conftest import wait_for
    path = authsrv.workdir / "directory.toml"
    assert path.is_file()
    path.write_text(path.read_text() + "\n[" + "x." * 50000 + "x]\n")
    authsrv.proc.send_signal(signal.SIGHUP)
    ev = wait_for(lambda: authsrv.log_events("directory.reload.failed"), timeout=10, what="failed reload")[0]
    assert ev["action"] == "kept the previous directory", ev
    assert authsrv.running(), authsrv.diagnostics()
    errors = [e for e in authsrv.log_events("directory.error")]
    assert any("nested more than 64 levels" in e.get("problem", "") for e in errors), authsrv.log_tail()
    with login(authsrv, "alice", "alice-secret") as c:     # the old users still log in
        assert c.noop()[0] == 250


def test_authenticated_session_may_pipeline_past_data(authsrv):
    """forbid_unauth_pipelining (on by default) spares authenticated sessions: the whole
    transaction, content included, in one write is accepted."""
    c = authsrv.raw()
    try:
        assert c.read_reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        assert c.cmd("STARTTLS")[0] == 220
        c.starttls()
        assert c.cmd("EHLO client.test")[0] == 250
        token = base64.b64encode(b"\0alice\0alice-secret").decode()
        assert c.cmd("AUTH PLAIN " + token)[0] == 235
        c.send(f"MAIL FROM:<alice@{DOMAIN}>\r\nRCPT TO:<alice@{DOMAIN}>\r\nDATA\r\n"
               "Subject: pipelined by alice\r\n\r\nbody\r\n.\r\nQUIT\r\n".encode())
        replies = [c.read_reply() for _ in range(5)]
        assert [r[0] for r in replies] == [250, 250, 354, 250, 221], replies
        assert "queued as" in replies[3][1][0], replies
    finally:
        c.close()
    msgs = wait_for(lambda: authsrv.maildir_messages("alice"), 10, what="delivery to alice")
    assert b"Subject: pipelined by alice" in msgs[0]
    assert authsrv.log_events("smtp.pipelining_refused") == []
