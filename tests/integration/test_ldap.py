"""[directory] backend = "ldap" against a real OpenLDAP slapd (tests/integration/ldap_server.py):
users, groups (nested) and addresses come from LDAP, passwords are checked by binding as the
user, changes take effect on SIGHUP, and a failing LDAP server keeps the last good directory."""
import signal
import smtplib
import subprocess

import pytest

from conftest import DOMAIN, RAMPART_BIN, no_verify_context, wait_for
from ldap_server import Slapd, group, group_dn, person, user_dn

PASSWORDS = {"app1": "app1-secret", "svc": "svc-secret", "alice": "alice-secret", "bob": "bob-secret"}


@pytest.fixture
def slapd(tmp_path):
    s = Slapd(tmp_path / "ldap")
    h = {u: s.slappasswd(p) for u, p in PASSWORDS.items()}
    s.load([
        person("app1", h["app1"], [f"app1@{DOMAIN}"]),
        person("svc", h["svc"], [f"svc@{DOMAIN}"]),
        person("alice", h["alice"], [f"alice@{DOMAIN}", f"a.example@{DOMAIN}"], principal="alice@EXAMPLE.TEST"),
        person("bob", h["bob"], [f"bob@{DOMAIN}"]),
        group("apps", [user_dn("app1")]),
        group("relay-apps", [group_dn("apps"), user_dn("svc")]),   # app1 is in it through apps (nested)
        group("staff", [user_dn("alice"), user_dn("bob")]),
    ])
    s.start()
    yield s
    s.stop()


def ldap_rampart(rampart_factory, sink, slapd, tmp_path, start=True):
    srv = rampart_factory(start=False, smarthost_port=sink.port,
                          extra_config=slapd.directory_config(tmp_path / "ldap.secret"))
    text = srv.config_text().replace(
        'tls = "starttls"',
        'tls = "starttls"\nauth = { basic = true }\n'
        'permissions = { submit = ["group:staff", "group:relay-apps"], relay = ["group:relay-apps"] }\n'
        # These tests fail logins on purpose; the brakes have their own tests (test_brakes.py).
        'limits = { auth_lockout_failures = 0, auth_failure_delay = "0s" }', 1)
    srv.config_path.write_text(text)
    if start:
        srv.start()
    return srv


@pytest.fixture
def ldapsrv(rampart_factory, sink, slapd, tmp_path):
    return ldap_rampart(rampart_factory, sink, slapd, tmp_path)


def login(srv, user, password):
    c = smtplib.SMTP(srv.host, srv.port, timeout=20)
    c.ehlo("client.test")
    c.starttls(context=no_verify_context())
    c.ehlo("client.test")
    c.login(user, password)
    return c


def reloads(srv):
    return len(srv.log_events("directory.loaded")) + len(srv.log_events("directory.reload.failed"))


def sighup_and_wait(srv):
    before = reloads(srv)
    srv.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: reloads(srv) > before, timeout=30, what="directory reload after SIGHUP")
    return srv.log_events()[-1]


def test_ldap_user_relays_through_group_grant(ldapsrv, sink):
    loaded = ldapsrv.log_events("directory.loaded")[0]
    assert (loaded["backend"], loaded["users"], loaded["groups"]) == ("ldap", "4", "3"), loaded
    with login(ldapsrv, "svc", PASSWORDS["svc"]) as c:          # direct member of relay-apps
        c.sendmail(f"svc@{DOMAIN}", ["someone@outside.test"], "Subject: direct\r\n\r\nhello\r\n")
    with login(ldapsrv, "app1", PASSWORDS["app1"]) as c:        # member through the nested group apps
        c.sendmail(f"app1@{DOMAIN}", ["other@outside.test"], "Subject: nested\r\n\r\nhello\r\n")
    wait_for(lambda: len(sink.messages()) == 2, timeout=30, what="two relayed messages at the sink")
    assert sorted(m["mail_from"] for m in sink.messages()) == [f"app1@{DOMAIN}", f"svc@{DOMAIN}"]


def test_wrong_unknown_and_empty_passwords_are_535(ldapsrv):
    for user, password in (("alice", "wrong"), ("nobody", "whatever"), ("alice", "")):
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            login(ldapsrv, user, password)
        assert e.value.smtp_code == 535 and e.value.smtp_error.startswith(b"5.7.8"), (user, e.value)
    # An empty password is an LDAP "unauthenticated bind" that servers answer with success.
    with smtplib.SMTP(ldapsrv.host, ldapsrv.port, timeout=20) as c:
        c.ehlo("client.test")
        c.starttls(context=no_verify_context())
        c.ehlo("client.test")
        code, msg = c.docmd("AUTH", "PLAIN AGFsaWNlAA==")   # \0alice\0 (empty password)
        assert (code, msg) == (535, b"5.7.8 authentication credentials invalid")
    results = [e["result"] for e in ldapsrv.log_events("smtp.auth")]   # smtplib tries PLAIN, then LOGIN
    assert len(results) >= 4 and set(results) == {"failure"}, results


def test_user_without_relay_grant_cannot_relay_and_sends_only_as_ldap_mail(ldapsrv):
    with login(ldapsrv, "alice", PASSWORDS["alice"]) as c:
        assert c.mail(f"a.example@{DOMAIN}")[0] == 250           # second mail value is hers too
        assert c.rcpt("victim@outside.test") == (550, b"5.7.1 relaying denied")
        assert c.rcpt(f"bob@{DOMAIN}")[0] == 250                 # submit inside is granted to staff
        c.rset()
        code, msg = c.mail(f"bob@{DOMAIN}")
        assert code == 550 and b"not one of the authenticated user's addresses" in msg


def test_ldap_change_takes_effect_on_sighup(ldapsrv, slapd, sink):
    with login(ldapsrv, "bob", PASSWORDS["bob"]) as c:
        c.mail(f"bob@{DOMAIN}")
        assert c.rcpt("x@outside.test") == (550, b"5.7.1 relaying denied")
    slapd.modify(f"dn: {group_dn('relay-apps')}\nchangetype: modify\nadd: member\nmember: {user_dn('bob')}\n")
    ev = sighup_and_wait(ldapsrv)
    assert ev["event"] == "directory.loaded" and ev["backend"] == "ldap", ev
    with login(ldapsrv, "bob", PASSWORDS["bob"]) as c:
        c.sendmail(f"bob@{DOMAIN}", ["x@outside.test"], "Subject: now allowed\r\n\r\nhello\r\n")
    wait_for(lambda: len(sink.messages()) == 1, timeout=30, what="relayed message at the sink")


def test_ldap_down_at_reload_keeps_the_last_good_directory(ldapsrv, slapd, sink):
    slapd.stop()
    ev = sighup_and_wait(ldapsrv)
    assert ev["event"] == "directory.reload.failed" and ev["action"] == "kept the previous directory", ev
    # The user is still known: the password cannot be checked now, which is temporary (not 535).
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        login(ldapsrv, "svc", PASSWORDS["svc"])
    assert (e.value.smtp_code, e.value.smtp_error) == (454, b"4.7.0 temporary authentication failure")
    # The server comes back (same data); without any reload the kept directory serves.
    slapd.start()
    with login(ldapsrv, "svc", PASSWORDS["svc"]) as c:
        c.sendmail(f"svc@{DOMAIN}", ["x@outside.test"], "Subject: after outage\r\n\r\nhello\r\n")
    wait_for(lambda: len(sink.messages()) == 1, timeout=30, what="relayed message at the sink")
    assert len(ldapsrv.log_events("directory.loaded")) == 1


def test_refuses_to_start_without_ldap(rampart_factory, sink, slapd, tmp_path):
    slapd.stop()
    srv = ldap_rampart(rampart_factory, sink, slapd, tmp_path, start=False)
    r = subprocess.run([RAMPART_BIN, "serve", "-c", str(srv.config_path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "directory: cannot read users and groups from LDAP: " + slapd.uri in r.stderr, r.stderr


def test_user_and_group_list_read_ldap(ldapsrv):
    def cli(*args, stdin=None):
        return subprocess.run([RAMPART_BIN, *args, "-c", str(ldapsrv.config_path)], input=stdin,
                              capture_output=True, text=True, timeout=60)
    r = cli("user", "list")
    assert r.returncode == 0, r.stderr
    alice = next(l for l in r.stdout.splitlines() if l.startswith("alice "))
    assert f"addresses=alice@{DOMAIN},a.example@{DOMAIN}" in alice and "groups=staff" in alice
    assert "kerberos=alice@EXAMPLE.TEST" in alice and "dn=uid=alice,ou=people,dc=example,dc=test" in alice
    app1 = next(l for l in r.stdout.splitlines() if l.startswith("app1 "))
    assert "groups=apps,relay-apps" in app1
    r = cli("group", "list")
    assert r.returncode == 0 and "relay-apps  members=group:apps,user:svc" in r.stdout, r.stdout
    r = cli("user", "add", "eve", stdin="pw\n")
    assert r.returncode == 1 and "users and groups are managed in LDAP" in r.stderr, r.stderr
    r = subprocess.run([RAMPART_BIN, "explain", "-c", str(ldapsrv.config_path), "--listener", "default", "--client-ip",
                        "127.0.0.1", "--tls", "--user", "app1", "--mail-from", f"app1@{DOMAIN}", "--rcpt", "x@outside.test"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "[decided by permissions.relay]" in r.stdout, r.stdout


@pytest.fixture
def tls_slapd(tmp_path):
    s = Slapd(tmp_path / "ldap-tls", tls=True)
    s.load([person("alice", s.slappasswd(PASSWORDS["alice"]), [f"alice@{DOMAIN}"]), group("staff", [user_dn("alice")])])
    s.start()
    yield s
    s.stop()


def test_starttls_to_ldap_verifies_the_server_certificate(rampart_factory, sink, tls_slapd, tmp_path):
    srv = ldap_rampart(rampart_factory, sink, tls_slapd, tmp_path, start=False)
    srv.config_path.write_text(srv.config_path.read_text().replace(
        f'ldap_uri = "{tls_slapd.uri}"',
        f'ldap_uri = "{tls_slapd.uri}"\nldap_starttls = true\nldap_ca_file = "{tls_slapd.ca_file}"'))
    srv.start()
    with login(srv, "alice", PASSWORDS["alice"]) as c:      # the password bind also goes through StartTLS
        assert c.mail(f"alice@{DOMAIN}")[0] == 250
    srv.stop()
    # A CA that did not sign the server's certificate: no connection, so no start.
    other = tmp_path / "other-ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=other CA",
                    "-keyout", str(tmp_path / "other-ca.key"), "-out", str(other)], check=True, capture_output=True, timeout=60)
    srv.config_path.write_text(srv.config_path.read_text().replace(str(tls_slapd.ca_file), str(other)))
    r = subprocess.run([RAMPART_BIN, "serve", "-c", str(srv.config_path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "StartTLS" in r.stderr, r.stderr


def test_periodic_refresh_and_send_as_any_group(rampart_factory, sink, slapd, tmp_path):
    srv = ldap_rampart(rampart_factory, sink, slapd, tmp_path, start=False)
    srv.config_path.write_text(srv.config_path.read_text().replace(
        'ldap_refresh_interval = "1h"', 'ldap_refresh_interval = "1s"\nldap_send_as_any_group = "relay-apps"'))
    srv.start()
    with login(srv, "app1", PASSWORDS["app1"]) as c:       # relay-apps through apps: may send as anyone
        assert c.mail(f"ceo@{DOMAIN}")[0] == 250
    with login(srv, "alice", PASSWORDS["alice"]) as c:
        assert c.mail(f"ceo@{DOMAIN}")[0] == 550
    slapd.modify(f"dn: {group_dn('relay-apps')}\nchangetype: modify\nadd: member\nmember: {user_dn('alice')}\n")
    before = len(srv.log_events("directory.loaded"))
    # No SIGHUP: the refresh timer picks the change up (a load already running may predate it).
    wait_for(lambda: len(srv.log_events("directory.loaded")) >= before + 2, timeout=30, what="two periodic refreshes")
    with login(srv, "alice", PASSWORDS["alice"]) as c:
        assert c.mail(f"ceo@{DOMAIN}")[0] == 250
