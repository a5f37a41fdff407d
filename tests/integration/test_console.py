"""The web console's sign-in gate (docs/console.md): sign-in with a directory user of the
admin group (nested groups count), the same AUTH lockout as SMTP, sessions in cookies,
CSRF refusals, sign-out, no open redirect, and the bearer token kept for /metrics only.
The real binary and a real HTTP client (console_client.py, urllib with a cookie jar)."""
import base64
import re
import smtplib
import ssl
import urllib.parse

from conftest import free_port, no_verify_context, wait_for
from console_client import (ADMIN_PASSWORD, ADMIN_USER, NESTED_PASSWORD, NESTED_USER, OTHER_PASSWORD, OTHER_USER,
                            ConsoleClient, start_console_server)
from pki import TestCA

REFUSED = "Sign-in refused"


def events(srv, name, **match):
    return [e for e in srv.log_events(name) if all(e.get(k) == v for k, v in match.items())]


def session_cookie_header(client):
    return next(c for c in client.last_set_cookies if c.startswith(("rampart_session=", "__Host-rampart_session=")))


def test_sign_in_and_home_page(rampart_factory):
    srv, url = start_console_server(rampart_factory)
    c = ConsoleClient(url)
    status, _, location = c.login(ADMIN_USER, ADMIN_PASSWORD)
    assert (status, location) == (303, "/console")
    status, html = c.get("/console")
    assert status == 200, html
    assert "mx.test" in html and "all-in-one" in html
    assert f"127.0.0.1:{srv.port}" in html and ">default<" in html   # the listener and its address
    assert re.search(r"<td>ready</td><td>0</td>", html), html          # the queue by state
    assert ADMIN_USER in html and 'id="logout"' in html
    ev = wait_for(lambda: events(srv, "console.login", user=ADMIN_USER), what="console.login")[0]
    assert ev["client"] == "127.0.0.1"


def test_nested_group_member_may_sign_in(rampart_factory):
    srv, url = start_console_server(rampart_factory)
    c = ConsoleClient(url)
    assert c.login(NESTED_USER, NESTED_PASSWORD)[0] == 303
    assert c.get("/console")[0] == 200


def test_wrong_password_unknown_user_and_non_admin_are_refused_alike(rampart_factory):
    srv, url = start_console_server(rampart_factory)
    for user, password, reason in ((ADMIN_USER, "wrong", "invalid credentials"),
                                   ("nobody", "whatever", "invalid credentials"),
                                   (OTHER_USER, OTHER_PASSWORD, "not a member of rampart-admins")):
        c = ConsoleClient(url)
        status, html, location = c.login(user, password)
        assert status == 403 and location is None, (user, status)
        assert REFUSED in html and "locked" not in html.lower() and "member" not in html
        assert c.cookie("rampart_session") is None
        assert c.get("/console")[0] == 303
        wait_for(lambda: events(srv, "console.login.failed", user=user, reason=reason), what=f"failure of {user}")
    assert not events(srv, "console.login")


def test_lockout_after_failures_refuses_even_the_right_password(rampart_factory):
    srv, url = start_console_server(rampart_factory, listener_keys={"auth": {"basic": True}})
    c = ConsoleClient(url)
    for _ in range(5):   # the default auth_lockout_failures
        assert c.login(ADMIN_USER, "guess")[0] == 403
    wait_for(lambda: events(srv, "console.login.locked", user=ADMIN_USER), what="console.login.locked")
    status, html, _ = c.login(ADMIN_USER, ADMIN_PASSWORD)
    assert status == 403 and REFUSED in html and "locked" not in html.lower()   # the same page as a wrong password
    assert c.cookie("rampart_session") is None
    wait_for(lambda: events(srv, "console.login.failed", user=ADMIN_USER, reason="locked"), what="locked in the log")
    assert not events(srv, "console.login")
    # The same brakes as SMTP AUTH: the right password is refused there too (454 4.7.0).
    with smtplib.SMTP(srv.host, srv.port, timeout=10) as smtp:
        smtp.ehlo("client.test")
        smtp.starttls(context=no_verify_context())
        smtp.ehlo("client.test")
        creds = base64.b64encode(f"\0{ADMIN_USER}\0{ADMIN_PASSWORD}".encode()).decode()
        code, text = smtp.docmd("AUTH", "PLAIN " + creds)
        assert code == 454, (code, text)


def test_signed_out_pages_redirect_to_login(rampart_factory):
    srv, url = start_console_server(rampart_factory)
    c = ConsoleClient(url)
    status, _ = c.get("/console?view=1")
    assert status == 303
    assert c.last_headers["Location"] == "/console/login?next=" + urllib.parse.quote("/console?view=1", safe="")
    status, _, location = c.post("/console/logout", {})
    assert (status, location) == (303, "/console/login")
    # A forged or unknown session cookie is no session either.
    forged = ConsoleClient(url)
    status, _, _ = forged.request("GET", "/console", headers={"Cookie": "rampart_session=" + "0" * 64})
    assert status == 303
    # After sign-in, the login page sends a signed-in user on.
    assert c.login(ADMIN_USER, ADMIN_PASSWORD, next="/console?view=1")[2] == "/console?view=1"
    status, _ = c.get("/console/login?next=%2Fconsole")
    assert (status, c.last_headers["Location"]) == (303, "/console")


def test_post_without_valid_csrf_or_with_foreign_origin_is_refused(rampart_factory):
    srv, url = start_console_server(rampart_factory)
    c = ConsoleClient(url)
    assert c.login(ADMIN_USER, ADMIN_PASSWORD)[0] == 303
    token = c.csrf
    cases = [
        ("no csrf", dict(csrf=None), "no CSRF token"),
        ("wrong csrf", dict(csrf="0" * 64), "wrong CSRF token"),
        ("short csrf", dict(csrf=token[:10]), "wrong CSRF token"),
        ("foreign origin", dict(origin="http://evil.example"), "Origin does not match Host"),
        ("null origin", dict(origin="null"), "Origin does not match Host"),
        ("no origin", dict(origin=None), "no Origin or Referer"),
        ("foreign referer", dict(origin=None, headers={"Referer": "http://evil.example/console"}), "Referer does not match Host"),
    ]
    for name, kw, reason in cases:
        status, html, _ = c.post("/console/logout", {}, **kw)
        assert status == 403, name
        wait_for(lambda: events(srv, "console.csrf.refused", reason=reason), what=name)
    status, _, _ = c.post("/console/logout", {}, content_type="text/plain")
    assert status == 415
    # The session survived every refused POST; the right token and Origin sign out.
    assert c.get("/console")[0] == 200
    status, _, location = c.logout()
    assert (status, location) == (303, "/console/login")
    assert c.get("/console")[0] == 303
    c2 = ConsoleClient(url)
    assert c2.login(ADMIN_USER, ADMIN_PASSWORD)[0] == 303
    status, _, location = c2.post("/console/logout", {}, origin=None,
                                  headers={"Referer": url + "/console"})   # Referer stands in for a missing Origin
    assert (status, location) == (303, "/console/login")


def test_login_form_csrf_is_refused(rampart_factory):
    srv, url = start_console_server(rampart_factory)
    # A cross-site form: no login cookie, a foreign Origin.
    c = ConsoleClient(url)
    status, _, _ = c.post("/console/login", {"user": ADMIN_USER, "password": ADMIN_PASSWORD, "csrf": "a" * 64},
                          origin="http://evil.example")
    assert status == 403
    # The right Origin but no login cookie (the attacker cannot read or set it).
    status, _, _ = c.post("/console/login", {"user": ADMIN_USER, "password": ADMIN_PASSWORD, "csrf": "a" * 64})
    assert status == 403
    # With the cookie from the form but another token.
    c.get("/console/login")
    status, _, _ = c.post("/console/login", {"user": ADMIN_USER, "password": ADMIN_PASSWORD, "csrf": "b" * 64})
    assert status == 403
    assert c.cookie("rampart_session") is None
    wait_for(lambda: len(events(srv, "console.csrf.refused", path="/console/login")) >= 3, what="three refusals")
    assert not events(srv, "console.login") and not events(srv, "console.login.failed")   # never got to the password


def test_logout_ends_the_session_and_old_cookie_is_refused(rampart_factory):
    srv, url = start_console_server(rampart_factory)
    c = ConsoleClient(url)
    assert c.login(ADMIN_USER, ADMIN_PASSWORD)[0] == 303
    old = c.cookie("rampart_session")
    assert old and re.fullmatch(r"[0-9a-f]{64}", old)
    status, _, location = c.logout()
    assert (status, location) == (303, "/console/login")
    assert "Max-Age=0" in session_cookie_header(c)
    replay = ConsoleClient(url)   # a copy of the old cookie, as a thief would hold it
    status, _, _ = replay.request("GET", "/console", headers={"Cookie": "rampart_session=" + old})
    assert status == 303
    wait_for(lambda: events(srv, "console.logout", user=ADMIN_USER), what="console.logout")


def test_cookie_attributes_and_a_new_session_id_on_every_sign_in(rampart_factory):
    srv, url = start_console_server(rampart_factory)
    c = ConsoleClient(url)
    c.get("/console/login")
    login_cookie = next(x for x in c.last_set_cookies if x.startswith("rampart_login="))
    assert "HttpOnly" in login_cookie and "SameSite=Strict" in login_cookie
    assert c.login(ADMIN_USER, ADMIN_PASSWORD)[0] == 303
    # login() followed the redirect: look at the sign-in response's cookie again.
    c2 = ConsoleClient(url)
    c2.get("/console/login")
    c2.post("/console/login", {"user": ADMIN_USER, "password": ADMIN_PASSWORD})
    header = session_cookie_header(c2)
    attrs = [a.strip() for a in header.split(";")]
    assert attrs[0].startswith("rampart_session=") and re.fullmatch(r"[0-9a-f]{64}", attrs[0].split("=", 1)[1])
    assert {"Path=/console", "HttpOnly", "SameSite=Strict"} <= set(attrs) and "Secure" not in attrs   # plain HTTP: loopback only
    # No fixation: every sign-in makes a new id (the old one ends with sign-out).
    first = c2.cookie("rampart_session")
    assert c2.get("/console/login")[0] == 303   # signed in: sent on, no form
    c2.get("/console")
    assert c2.logout()[0] == 303
    assert c2.login(ADMIN_USER, ADMIN_PASSWORD)[0] == 303
    assert c2.cookie("rampart_session") not in (None, first)
    assert c.cookie("rampart_session") not in (None, first)


def test_open_redirect_attempts_go_home(rampart_factory):
    srv, url = start_console_server(rampart_factory)
    for bad in ("https://evil.example/", "//evil.example/console", "/console//evil.example", "/metrics",
                "/console/../metrics", "/consolex"):
        c = ConsoleClient(url)
        assert c.login(ADMIN_USER, ADMIN_PASSWORD, next=bad)[2] == "/console", bad


def test_tls_console_without_token_while_metrics_keeps_it(rampart_factory, tmp_path):
    ca = TestCA(tmp_path / "ca")
    cert, key = ca.issue("admin", ips=("127.0.0.1",))
    token = "s3cret-token-0123456789"
    (tmp_path / "token").write_text(token + "\n")
    port = free_port()
    srv, url = start_console_server(rampart_factory, base_url=f"https://127.0.0.1:{port}", extra_config="\n".join([
        "[admin]", f'bind = "127.0.0.1:{port}"', f'tls_certificate = "{cert}"', f'tls_key = "{key}"',
        f'token_file = "{tmp_path / "token"}"']))
    ctx = ssl.create_default_context(cafile=str(ca.cert))
    c = ConsoleClient(url, context=ctx)
    status, _, location = c.login(ADMIN_USER, ADMIN_PASSWORD)   # no Authorization header anywhere
    assert (status, location) == (303, "/console")
    assert c.get("/console")[0] == 200
    # The sign-in's cookie: __Host- prefix, Secure, Path=/.
    c2 = ConsoleClient(url, context=ctx)
    c2.get("/console/login")
    assert any(x.startswith("__Host-rampart_login=") and "Secure" in x for x in c2.last_set_cookies)
    c2.post("/console/login", {"user": ADMIN_USER, "password": ADMIN_PASSWORD})
    attrs = [a.strip() for a in session_cookie_header(c2).split(";")]
    assert attrs[0].startswith("__Host-rampart_session=")
    assert {"Path=/", "Secure", "HttpOnly", "SameSite=Strict"} <= set(attrs)
    # /metrics still needs the token; other paths outside the console too.
    m = ConsoleClient(url, context=ctx)
    assert m.request("GET", "/metrics")[0] == 401
    assert m.request("GET", "/nothing")[0] == 401
    status, text, _ = m.request("GET", "/metrics", headers={"Authorization": f"Bearer {token}"})
    assert status == 200 and "rampart_" in text


def test_dns_rebinding_host_is_refused_on_plain_http(rampart_factory):
    """A foreign name pointed at 127.0.0.1 reaches the loopback listener with its own Host:
    the console answers 421 to it (and signs nobody in), the loopback name works."""
    srv, url = start_console_server(rampart_factory)
    c = ConsoleClient(url)
    status, _, _ = c.request("GET", "/console/login", headers={"Host": "rebind.evil.example:%d" % srv.admin_port})
    assert status == 421
    status, _, _ = c.request("POST", "/console/login", body=b"user=admin&password=console-pass-1",
                             headers={"Host": "rebind.evil.example", "Origin": "http://rebind.evil.example",
                                      "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 421
    wait_for(lambda: len(events(srv, "console.host.refused")) >= 2, what="console.host.refused")
    assert ConsoleClient(url.replace("127.0.0.1", "localhost")).login(ADMIN_USER, ADMIN_PASSWORD)[0] == 303
