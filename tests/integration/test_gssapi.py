"""Integrated authentication: SASL GSSAPI (RFC 4752) against a real MIT Kerberos realm
(krb5kdc started by the `kdc` fixture), with a real GSSAPI client (python3-gssapi driving
smtplib). Covers: a user principal logs in and submits; the principal → directory mapping
(users.kerberos, servers.kerberos, kerberos.realm, unmapped → 535 5.7.8); tickets for a
service rampart is not (535); the authorization identity; when GSSAPI is offered; and
scenario (g) of issue 3: an empty submit list with integrated authentication refuses users
and accepts organisation servers (which may relay)."""
import base64
import smtplib
import subprocess

import gssapi
import pytest

from conftest import DOMAIN, RAMPART_BIN, toml_str, wait_for
from kdc import kdc  # noqa: F401  (fixture)

HOST = "mx.example.test"        # rampart's server.hostname: the acceptor is smtp/HOST
REALM = "EXAMPLE.TEST"


def b64(data):
    return base64.b64encode(data or b"").decode()


def gssapi_login(smtp, ccache, service_host=HOST, service="smtp", authzid="", layer=1, mutual=True):
    """AUTH GSSAPI as the principal whose TGT is in CCACHE. Returns (code, text, offer) where
    offer is (layers, max_size) from the server's security-layer message, or None."""
    creds = gssapi.Credentials(usage="initiate", store={"ccache": "FILE:" + str(ccache)})
    target = gssapi.Name(f"{service}@{service_host}", gssapi.NameType.hostbased_service)
    flags = [gssapi.RequirementFlag.integrity]
    if mutual:
        flags.append(gssapi.RequirementFlag.mutual_authentication)
    ctx = gssapi.SecurityContext(name=target, creds=creds, usage="initiate", flags=flags)
    code, resp = smtp.docmd("AUTH", "GSSAPI " + b64(ctx.step()))
    for _ in range(10):                       # context establishment, bounded
        if code != 334 or ctx.complete:
            break
        code, resp = smtp.docmd(b64(ctx.step(base64.b64decode(resp))))
    offer = None
    if code == 334:                           # RFC 4752 §3.1 security-layer negotiation
        inner = ctx.unwrap(base64.b64decode(resp)).message
        offer = (inner[0], int.from_bytes(inner[1:4], "big"))
        answer = bytes([layer, 0, 0, 0]) + authzid.encode()
        code, resp = smtp.docmd(b64(ctx.wrap(answer, False).message))
    return code, resp.decode(errors="replace"), offer


@pytest.fixture(scope="module")
def realm(kdc):  # noqa: F811
    """Principals, keytabs and credential caches of the test realm."""
    d = kdc.dir
    for user in ("alice", "bob", "carol"):
        kdc.principal(user, password=user + "-pw")
    for svc in (f"smtp/{HOST}", f"host/{HOST}", "smtp/other.example.test", "smtp/hub.example.test"):
        kdc.principal(svc)
    # rampart's keytab also holds host/HOST: a ticket for it must still be refused, since
    # the acceptor is smtp/HOST only.
    kdc.keytab(d / "rampart.keytab", f"smtp/{HOST}", f"host/{HOST}")
    kdc.keytab(d / "hub.keytab", "smtp/hub.example.test")
    cc = {}
    for user in ("alice", "bob", "carol"):
        cc[user] = kdc.kinit(user, d / f"cc.{user}", password=user + "-pw")
    cc["hub"] = kdc.kinit("smtp/hub.example.test", d / "cc.hub", keytab=d / "hub.keytab")
    return {"keytab": d / "rampart.keytab", "cc": cc}


DIRECTORY = f"""
[[users]]
name = "alice"
addresses = ["alice@{DOMAIN}"]
kerberos = ["alice@{REALM}"]

[[users]]
name = "bob"
addresses = ["bob@{DOMAIN}"]

[[servers]]
name = "hub"
addresses = []
fingerprint = ""
kerberos = ["smtp/hub.example.test@{REALM}"]
"""


def make(rampart_factory, sink, realm, *, integrated=True, keytab=True, submit=("authenticated",),
         kerberos_realm="", extra_listeners=(), start=True, name="r"):
    kerberos = "[kerberos]\n"
    if keytab:
        kerberos += f"keytab = {toml_str(realm['keytab'])}\n"
    if kerberos_realm:
        kerberos += f"realm = {toml_str(kerberos_realm)}\n"
    srv = rampart_factory(name=name, start=False, hostname=HOST, smarthost_port=sink.port, extra_config=kerberos,
                          extra_listeners=list(extra_listeners))
    grants = "[" + ", ".join(toml_str(g) for g in submit) + "]"
    text = srv.config_text().replace(
        'tls = "starttls"',
        f'tls = "starttls"\nauth = {{ anonymous = true, integrated = {"true" if integrated else "false"} }}\n'
        f'permissions = {{ submit = {grants}, relay = [] }}', 1)
    srv.config_path.write_text(text)
    (srv.workdir / "directory.toml").write_text(DIRECTORY)
    if start:
        srv.start()
    return srv


def connect(srv, port=None):
    c = smtplib.SMTP(srv.host, port or srv.port, timeout=15)
    c.ehlo("client.example.test")
    return c


def auth_events(srv):
    return srv.log_events("smtp.auth")


def test_user_principal_logs_in_without_tls_and_submits(rampart_factory, sink, realm):
    srv = make(rampart_factory, sink, realm)
    with connect(srv) as c:
        assert "GSSAPI" in c.esmtp_features["auth"].split()     # offered in clear: no password is sent
        code, text, offer = gssapi_login(c, realm["cc"]["alice"])
        assert (code, text) == (235, "2.7.0 authentication successful")
        assert offer == (1, 0)                                  # "no security layer" only, size 0
        assert c.mail(f"alice@{DOMAIN}")[0] == 250
        assert c.rcpt(f"bob@{DOMAIN}")[0] == 250
        code, msg = c.data(b"Subject: kerberos\r\n\r\nhello\r\n")
        assert code == 250, msg
    wait_for(lambda: srv.maildir_messages("bob"), timeout=20, what="delivery to bob")
    assert b"ESMTPA" in srv.maildir_messages("bob")[0]          # RFC 3848: authenticated
    ev = auth_events(srv)[-1]
    assert (ev["mechanism"], ev["user"], ev["principal"], ev["result"]) == \
        ("GSSAPI", f"alice@{REALM}", "user:alice", "success")
    assert "users.kerberos" in ev["reason"]


def test_unmapped_principal_is_refused(rampart_factory, sink, realm):
    # bob is a directory user but not listed, and no default realm rule is set; carol is
    # not in the directory at all.
    srv = make(rampart_factory, sink, realm)
    for who in ("bob", "carol"):
        with connect(srv) as c:
            code, text, _ = gssapi_login(c, realm["cc"][who])
            assert (code, text) == (535, "5.7.8 authentication credentials invalid")
            assert c.mail(f"{who}@outside.test")[0] == 250          # still anonymous, nothing more
    refused = [e for e in auth_events(srv) if e["result"] == "failure"]
    assert [e["user"] for e in refused] == [f"bob@{REALM}", f"carol@{REALM}"]
    assert all(e["reason"] == "no directory user or server for this Kerberos principal" for e in refused)


def test_default_realm_rule_maps_name_to_user(rampart_factory, sink, realm):
    srv = make(rampart_factory, sink, realm, kerberos_realm=REALM)
    with connect(srv) as c:
        assert gssapi_login(c, realm["cc"]["bob"])[0] == 235
    with connect(srv) as c:                                    # carol: no such directory user
        assert gssapi_login(c, realm["cc"]["carol"])[0] == 535
    ok = [e for e in auth_events(srv) if e["result"] == "success"]
    assert [(e["principal"], e["reason"]) for e in ok] == [("user:bob", "mapped by kerberos.realm")]


@pytest.mark.parametrize("service,host", [("smtp", "other.example.test"),   # key not in our keytab
                                          ("host", HOST)])                  # in the keytab, not the acceptor
def test_ticket_for_another_service_is_refused(rampart_factory, sink, realm, service, host):
    srv = make(rampart_factory, sink, realm)
    with connect(srv) as c:
        code, text, _ = gssapi_login(c, realm["cc"]["alice"], service_host=host, service=service)
        assert (code, text) == (535, "5.7.8 authentication credentials invalid")
        # the session goes on, and a proper login still works
        assert gssapi_login(c, realm["cc"]["alice"])[0] == 235
    failed = [e for e in auth_events(srv) if e["result"] == "failure"]
    assert len(failed) == 1 and failed[0]["user"] == "-"


def test_authorization_identity_and_security_layer(rampart_factory, sink, realm):
    srv = make(rampart_factory, sink, realm)
    with connect(srv) as c:                          # acting as someone else: refused
        assert gssapi_login(c, realm["cc"]["alice"], authzid="bob")[0] == 535
    with connect(srv) as c:                          # a layer that was not offered
        assert gssapi_login(c, realm["cc"]["alice"], layer=4)[0] == 535
    for authzid in ("alice", f"alice@{REALM}"):      # its own names are fine
        with connect(srv) as c:
            assert gssapi_login(c, realm["cc"]["alice"], authzid=authzid)[0] == 235
    with connect(srv) as c:                          # no mutual authentication: no AP-REP round,
        code, _, offer = gssapi_login(c, realm["cc"]["alice"], mutual=False)   # the offer comes at once
        assert (code, offer) == (235, (1, 0))


def test_garbage_and_cancel(rampart_factory, sink, realm):
    srv = make(rampart_factory, sink, realm)
    with connect(srv) as c:
        assert c.docmd("AUTH", "GSSAPI " + b64(b"not a kerberos token"))[0] == 535
        assert c.docmd("AUTH", "GSSAPI !!!")[0] == 501
        assert c.docmd("AUTH", "GSSAPI =")[0] == 535              # empty initial response: no token
        code, _ = c.docmd("AUTH", "GSSAPI")                  # no initial response: empty challenge
        assert code == 334
        assert c.docmd("*")[0] == 501                         # cancelled
        assert c.noop()[0] == 250
        # RFC 4954 §4: AUTH lines up to 12288 octets reach the mechanism (big AD tickets);
        # other commands keep max_command_length
        assert c.docmd("AUTH", "GSSAPI " + b64(b"\x60" * 6000))[0] == 535
        assert c.docmd("NOOP", "x" * 6000) == (500, b"5.5.6 line too long")
        assert c.docmd("AUTH", "GSSAPI " + "A" * 13000) == (500, b"5.5.6 line too long")


def test_not_offered_without_integrated_or_keytab(rampart_factory, sink, realm):
    from conftest import free_port
    other = free_port()
    srv = make(rampart_factory, sink, realm, integrated=False, extra_listeners=[("plain", other, "none")])
    # the default listener has integrated = false; the extra one takes the all-in-one
    # preset (integrated on) and the keytab is set, so it offers GSSAPI
    with connect(srv) as c:
        assert "auth" not in c.esmtp_features
        assert c.docmd("AUTH", "GSSAPI " + b64(b"x"))[0] == 504
    with connect(srv, other) as c:
        assert c.esmtp_features.get("auth", "").split() == ["GSSAPI"]
    srv.stop()
    srv2 = make(rampart_factory, sink, realm, keytab=False, name="nokeytab")
    with connect(srv2) as c:
        assert "auth" not in c.esmtp_features
        assert c.docmd("AUTH", "GSSAPI " + b64(b"x"))[0] == 504
    assert any("kerberos.keytab is not set" in e.get("problem", "") for e in srv2.log_events("kerberos.unusable"))


def test_scenario_g_empty_submit_list_refuses_users_and_accepts_servers(rampart_factory, sink, realm):
    srv = make(rampart_factory, sink, realm, submit=())
    with connect(srv) as c:
        assert gssapi_login(c, realm["cc"]["alice"])[0] == 235          # authenticates...
        assert c.mail(f"alice@{DOMAIN}") == (550, b"5.7.1 not permitted to send through this listener")
    with connect(srv) as c:
        code, _, _ = gssapi_login(c, realm["cc"]["hub"])
        assert code == 235
        assert c.mail(f"alice@{DOMAIN}")[0] == 250                      # servers are accepted
        assert c.rcpt(f"bob@{DOMAIN}")[0] == 250
        assert c.rcpt("partner@outside.test")[0] == 250                 # and may relay
        assert c.data(b"Subject: from the hub\r\n\r\nhello\r\n")[0] == 250
    wait_for(lambda: len(sink.messages()) == 1, timeout=20, what="relayed message at the sink")
    assert sink.messages()[0]["rcpt_tos"] == ["partner@outside.test"]
    ok = [e for e in auth_events(srv) if e["result"] == "success"]
    assert [e["principal"] for e in ok] == ["user:alice", "server:hub"]


def run_cli(*args):
    return subprocess.run([RAMPART_BIN, *args], capture_output=True, text=True, timeout=30)


def test_explain_uses_the_same_mapping(rampart_factory, sink, realm):
    srv = make(rampart_factory, sink, realm, submit=(), start=False)
    cfg = str(srv.config_path)
    base = ["explain", "-c", cfg, "--listener", "default", "--client-ip", "127.0.0.1", "--mail-from", f"alice@{DOMAIN}",
            "--rcpt", "partner@outside.test"]
    r = run_cli(*base, "--kerberos", "smtp/hub.example.test@" + REALM)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"kerberos smtp/hub.example.test@{REALM}: server:hub (servers.kerberos)" in r.stdout
    r = run_cli(*base, "--kerberos", f"alice@{REALM}")
    assert r.returncode == 1
    assert "user:alice (users.kerberos)" in r.stdout and "not permitted to send through this listener" in r.stdout
    r = run_cli(*base, "--kerberos", f"carol@{REALM}")
    assert r.returncode == 1 and "535 5.7.8" in r.stdout
    off = make(rampart_factory, sink, realm, integrated=False, start=False, name="off")
    r = run_cli("explain", "-c", str(off.config_path), *base[3:], "--kerberos", "smtp/hub.example.test@" + REALM)
    assert r.returncode == 1 and "504 5.5.4" in r.stdout


def test_check_warns_when_integrated_is_unusable(rampart_factory, sink, realm, kdc, tmp_path):  # noqa: F811
    srv = make(rampart_factory, sink, realm, keytab=False, start=False)
    r = run_cli("check", "-c", str(srv.config_path))
    # Exit 1 throughout: this config grants submit to "authenticated" (an exposure that
    # check reports); the keytab warnings go to stderr and do not change the status.
    assert r.returncode == 1 and "kerberos.keytab is not set" in r.stderr
    # a keytab without the key of smtp/HOST
    kdc.keytab(tmp_path / "wrong.keytab", "smtp/other.example.test")
    srv.config_path.write_text(srv.config_text().replace("[kerberos]", f"[kerberos]\nkeytab = {toml_str(tmp_path / 'wrong.keytab')}"))
    r = run_cli("check", "-c", str(srv.config_path))
    assert r.returncode in (0, 1) and "no usable key" in r.stderr, r.stderr
    srv.config_path.write_text(srv.config_text().replace("[kerberos]", f"[kerberos]\nkeytab = {toml_str(realm['keytab'])}"))
    r = run_cli("check", "-c", str(srv.config_path))
    assert r.returncode in (0, 1) and "warning" not in r.stderr, r.stderr


def test_user_add_kerberos_principal_then_login(rampart_factory, sink, realm):
    srv = make(rampart_factory, sink, realm, start=False)
    args = ["-c", str(srv.config_path)]
    r = subprocess.run([RAMPART_BIN, "user", "add", "carol", *args, "--address", f"carol@{DOMAIN}",
                        "--kerberos", "carol"], input="pw\n", capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "NAME@REALM" in r.stderr                 # not a full principal
    r = subprocess.run([RAMPART_BIN, "user", "add", "carol", *args, "--address", f"carol@{DOMAIN}",
                        "--kerberos", f"carol@{REALM}"], input="pw\n", capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert f"kerberos=carol@{REALM}" in run_cli("user", "list", *args).stdout
    srv.start()
    with connect(srv) as c:
        assert gssapi_login(c, realm["cc"]["carol"])[0] == 235
        assert c.mail(f"carol@{DOMAIN}")[0] == 250


def test_keytab_without_our_key_is_a_temporary_failure(rampart_factory, sink, realm, kdc, tmp_path):  # noqa: F811
    wrong = kdc.keytab(tmp_path / "wrong.keytab", "smtp/other.example.test")
    srv = make(rampart_factory, sink, realm, start=False)
    srv.config_path.write_text(srv.config_path.read_text().replace(toml_str(realm["keytab"]), toml_str(wrong)))
    srv.start()
    assert any("no usable key" in e["problem"] for e in srv.log_events("kerberos.unusable"))
    for _ in range(2):    # the second attempt is answered from the remembered failure
        with connect(srv) as c:
            assert "GSSAPI" in c.esmtp_features["auth"].split()
            code, text, _ = gssapi_login(c, realm["cc"]["alice"])
            assert (code, text) == (454, "4.7.0 temporary authentication failure")
    assert [e["code"] for e in auth_events(srv)] == ["454", "454"]


def test_server_add_with_kerberos_principal_only(rampart_factory):
    """An organisation server may be known by its Kerberos principal alone (no certificate)."""
    srv = rampart_factory(start=False)
    args = ["-c", str(srv.config_path)]
    r = run_cli("server", "add", "hub", *args)
    assert r.returncode == 1 and "--kerberos" in r.stderr, r.stderr          # nothing to know it by
    r = run_cli("server", "add", "hub", *args, "--kerberos", f"smtp/hub.example.test@{REALM}")
    assert r.returncode == 0, r.stderr
    r = run_cli("server", "list", *args)
    assert r.returncode == 0 and f"hub  fingerprint=-  addresses=any  kerberos=smtp/hub.example.test@{REALM}" in r.stdout, r.stdout
    assert run_cli("check", *args).returncode in (0, 1)                        # the directory loads
