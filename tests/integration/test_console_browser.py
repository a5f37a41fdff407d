"""The web console in a real browser (issue 12, "Web console"): Debian's headless Chromium,
driven through chromedriver (browser.py), against the real rampart binary with an admin
listener and a directory user `admin` in `rampart-admins` (console_client.py).

What a person does: sign in through the form (and a wrong password is refused), walk every
link of the navigation bar (read from the page, so a new page is covered without changing
this file) and see each render, sign out. What a hostile page does: a page of another origin
that auto-submits a POST to the console is refused, in the browser that carries the cookie.

Screenshots: every page is saved as a 1280x800 PNG in $RAMPART_SCREENSHOTS (default: the
test's temporary directory); `RAMPART_SCREENSHOTS=docs/console` makes docs/console.md's
images (see docs/testing.md)."""
import functools
import html
import http.server
import json
import os
import re
import smtplib
import threading
from pathlib import Path

import pytest

from browser import browser, chromedriver  # noqa: F401  (fixtures)
from conftest import RELAY_IP, REPO, SOCK_TIMEOUT, free_port, port_accepts, queued_id, wait_for
from console_client import ADMIN_PASSWORD, ADMIN_USER, start_console_server

ADMIN, PASSWORD = ADMIN_USER, ADMIN_PASSWORD


def screenshot_dir(tmp_path):
    d = os.environ.get("RAMPART_SCREENSHOTS")
    if not d:
        return tmp_path / "screenshots"
    p = Path(d)
    return p if p.is_absolute() else REPO / p


def slug(path):
    """/console -> home, /console/queue -> queue, /console/listeners/internet -> listeners-internet."""
    rest = path[len("/console"):].strip("/")
    return re.sub(r"[^A-Za-z0-9]+", "-", rest).strip("-").lower() or "home"


def status_of_page(b):
    """The HTTP status of the page the browser shows (Navigation Timing's responseStatus)."""
    return b.execute("const e = performance.getEntriesByType('navigation')[0]; return e ? e.responseStatus : null")


class Console:
    """The console of one rampart, seen through one browser."""

    def __init__(self, srv, base, b):
        self.srv = srv
        self.b = b
        self.base = base

    def open(self, path):
        self.b.get(self.base + path)
        self.b.wait_until(self.b.ready, what=f"{path} to load")

    def sign_in(self, user=ADMIN, password=PASSWORD):
        self.open("/console")
        self.b.wait_for_path("/console/login")
        self.b.type_into("#user", user)
        self.b.type_into("#password", password)
        self.b.click(self.b.find("#signin"))
        self.b.wait_until(lambda: self.b.ready() and (self.b.path != "/console/login" or self.b.exists("#error")),
                          what="the answer to the sign-in form")

    def signed_in_as(self):
        found = self.b.find_all("header .who")
        return self.b.text(found[0]) if found else ""


@pytest.fixture
def console(rampart_factory, browser):  # noqa: F811
    # The next hop is a port where nothing listens: relayed mail stays in the queue.
    srv, base = start_console_server(rampart_factory, smarthost_port=free_port(), retry_interval="1h")
    wait_for(lambda: port_accepts("127.0.0.1", srv.admin_port), what="the admin listener")
    c = Console(srv, base, browser)
    yield c
    print(srv.diagnostics())  # shown only when the test failed


def queue_one(srv):
    """Relays one message from the relay client: its next hop is down, so it stays queued."""
    with smtplib.SMTP(srv.host, srv.port, timeout=SOCK_TIMEOUT, source_address=(RELAY_IP, 0)) as s:
        s.ehlo("client.test")
        assert s.mail("sender@example.test")[0] == 250
        assert s.rcpt("dest@outside.test")[0] == 250
        code, text = s.data(b"From: <sender@example.test>\r\nSubject: console queue\r\n\r\nbody\r\n")
        assert code == 250
    return queued_id(text)


# --------------------------------------------------------------------------- sign-in


def test_sign_in_through_the_form_and_a_wrong_password_is_refused(console):
    b = console.b
    console.sign_in(ADMIN, "not-the-password")
    assert b.path == "/console/login"
    assert "Sign-in refused" in b.text(b.find("#error"))
    assert console.signed_in_as() == ""
    assert any(e.get("user") == ADMIN for e in console.srv.log_events("console.login.failed"))

    console.sign_in()
    assert b.path == "/console", b.source
    assert status_of_page(b) == 200
    assert ADMIN in console.signed_in_as()
    assert b.title.endswith("rampart")
    assert any(e.get("user") == ADMIN for e in console.srv.log_events("console.login"))


# --------------------------------------------------------------------------- every page


def test_every_page_of_the_navigation_renders_and_is_photographed(console, tmp_path):
    b = console.b
    shots = screenshot_dir(tmp_path)
    queue_one(console.srv)   # a message on the queue pages
    console.open("/console")
    b.wait_for_path("/console/login")
    b.screenshot(shots / "login.png")

    console.sign_in()
    assert b.path == "/console"
    links = [(b.attribute(a, "href"), b.text(a)) for a in b.find_all("header nav a")]
    assert links, "no navigation bar on the home page"
    paths = [re.sub(r"^https?://[^/]+", "", href) for href, _ in links]
    assert "/console" in paths, paths
    seen, linked = [], {}
    for path, (_, name) in zip(paths, links):
        assert path.startswith("/console"), f"navigation link {name!r} leaves the console: {path}"
        console.open(path)
        assert b.path == path, f"{name!r}: {path} went to {b.url}"
        assert status_of_page(b) == 200, f"{name!r}: {path} answered {status_of_page(b)}\n{b.source[:2000]}"
        h1 = b.text(b.find("main h1"))
        assert h1 and b.title == f"{h1} — rampart", (b.title, h1)
        # the page is the console's layout (the nav bar, this link marked active), not an error
        assert b.text(b.find("header nav a.active")) == name
        assert ADMIN in console.signed_in_as()
        body = b.body_text()
        assert not re.search(r"internal server error", body, re.I), body
        b.screenshot(shots / f"{slug(path)}.png")
        seen.append(path)
        for a in b.find_all("main a[href^='/console']"):
            href = re.sub(r"^https?://[^/]+", "", b.attribute(a, "href"))
            linked.setdefault(href.split("?")[0], href)
    assert len(seen) == len(set(seen)), f"a navigation link appears twice: {seen}"
    # pages reached from these (a listener's page, an edit form): the first link to each
    for base, href in sorted(linked.items()):
        if base in seen or base in ("/console/login", "/console/logout"):
            continue
        console.open(href)
        assert status_of_page(b) == 200, f"{href} (linked from a page) answered {status_of_page(b)}\n{b.source[:2000]}"
        h1 = b.text(b.find("main h1"))
        assert h1 and b.title == f"{h1} — rampart", (href, b.title, h1)
        b.screenshot(shots / f"{slug(base)}.png")
        seen.append(base)
    assert not any(e.get("status", "").startswith("5") for e in console.srv.log_events("admin.request"))


# --------------------------------------------------------------------------- CSRF


class OtherOrigin:
    """A second local web server (another port: another origin) serving one page: a form that
    submits itself, by POST, to the console as soon as it loads."""

    def __init__(self, page):
        page_bytes = page.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page_bytes)))
                self.end_headers()
                self.wfile.write(page_bytes)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def auto_post(action, fields):
    inputs = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in fields.items())
    return (f'<!doctype html><html><head><title>a page elsewhere</title></head><body>'
            f'<form id="f" method="post" action="{html.escape(action)}">{inputs}</form>'
            f'<script>document.getElementById("f").submit()</script></body></html>')


@pytest.mark.parametrize("token", ["none", "leaked"])
def test_a_page_of_another_origin_cannot_post_to_the_console(console, token):
    """The other page makes the signed-in browser POST /console/logout (with no token, and
    with the session's real token, as if it had leaked: the Origin check alone must hold).
    The console refuses it and the session goes on."""
    b = console.b
    console.sign_in()
    assert b.path == "/console"
    fields = {}
    if token == "leaked":
        fields["csrf"] = b.attribute(b.find("header form input[name=csrf]"), "value")
        assert fields["csrf"]
    with OtherOrigin(auto_post(console.base + "/console/logout", fields)) as other:
        assert not other.url.startswith(console.base)
        b.get(other.url)
        b.wait_until(lambda: b.path == "/console/logout" and b.ready(), what="the forged POST to be answered")
        assert status_of_page(b) == 403, b.source[:2000]
        assert "CSRF" in b.body_text()
    refused = console.srv.log_events("console.csrf.refused")
    assert refused and refused[-1].get("path") == "/console/logout", refused
    # nothing changed: the session still works
    console.open("/console")
    assert b.path == "/console" and ADMIN in console.signed_in_as()


# --------------------------------------------------------------------------- sign out


def test_sign_out_ends_the_session(console):
    b = console.b
    console.sign_in()
    assert b.path == "/console"
    b.click(b.find("#logout"))
    b.wait_until(lambda: b.ready() and b.path == "/console/login", what="the sign-in page after signing out")
    assert console.signed_in_as() == ""
    # the page seen before is gone: Back may show Chromium's copy from its back/forward
    # cache, but loading it again (reload, or opening it) lands on the sign-in page
    b.back()
    b.wait_until(lambda: b.ready() and b.path in ("/console", "/console/login"), what="Back to the page before")
    b.refresh()
    b.wait_until(lambda: b.ready() and b.path == "/console/login", what="the old page to send us to sign in")
    assert console.signed_in_as() == "" and b.exists("#signin")
    console.open("/console")
    assert b.path == "/console/login" and b.exists("#signin")


# --------------------------------------------------------------------------- a listener edit

RELAY_FORM = "form:has(input[name=section][value=relay])"


def relay_answer(srv, client_ip):
    """The RCPT reply to a relayed recipient for a client at client_ip."""
    with srv.raw(source_address=(client_ip, 0)) as c:
        assert c.read_reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        assert c.cmd("MAIL FROM:<someone@elsewhere.test>")[0] == 250
        return c.cmd("RCPT TO:<dest@outside.test>")[0]


def test_a_listener_edit_through_the_form_refuses_an_open_relay_and_applies_a_valid_one(console, tmp_path):
    b, srv = console.b, console.srv
    assert relay_answer(srv, "127.0.0.7") >= 500   # not on the relay list yet
    console.sign_in()
    console.open("/console/listeners")
    b.click(b.find("main a[href*='listener?name=default']"))
    b.wait_until(lambda: b.ready() and b.path == "/console/listener" and b.exists(RELAY_FORM), what="listener default's page")
    before = srv.config_path.read_text()

    # relay for all except an empty list: an open relay, refused with the loader's reason
    b.click(b.find(f"{RELAY_FORM} input[name=relay_mode][value=all-except-list]"))
    b.clear(b.find(f"{RELAY_FORM} textarea[name=relay_list]"))
    b.click(b.find(f"{RELAY_FORM} button[type=submit]"))
    b.wait_until(lambda: b.ready() and b.exists("main .error"), what="the refusal of the open relay")
    assert status_of_page(b) == 400
    error = b.text(b.find("main .error"))
    assert "this relay setting makes an open relay" in error and str(srv.config_path) in error, error
    b.screenshot(screenshot_dir(tmp_path) / "listener-refused.png")
    assert srv.config_path.read_text() == before

    # a valid edit: 127.0.0.7 joins the relay list; the file is changed and reloaded
    console.open("/console/listener?name=default")
    b.type_into(f"{RELAY_FORM} textarea[name=relay_list]", "127.0.0.5/32\n127.0.0.7/32")
    b.click(b.find(f"{RELAY_FORM} button[type=submit]"))
    b.wait_until(lambda: b.ready() and b.exists("main .ok, main .error"), what="the answer to the edit")
    assert "Applied" in b.text(b.find("main .ok")), b.body_text()
    assert "127.0.0.7/32" in srv.config_path.read_text()
    wait_for(lambda: relay_answer(srv, "127.0.0.7") == 250, timeout=30, what="127.0.0.7 to be allowed to relay")
    assert any(e.get("user") == ADMIN for e in srv.log_events("console.change"))


# --------------------------------------------------------------------------- explain, queue


def test_the_explain_form_shows_the_trace(console, tmp_path):
    b = console.b
    console.sign_in()
    console.open("/console/explain")
    b.select("#listener", "default")
    b.type_into("#client", "192.0.2.1")
    b.type_into("#sender", "someone@elsewhere.test")
    b.type_into("#rcpts", "dest@outside.test")
    b.click(b.find("#explain"))
    b.wait_until(lambda: b.ready() and b.exists("#explain-decision"), what="the explain result")
    assert "would be refused" in b.text(b.find("#explain-decision"))
    replies = b.text(b.find("#explain-replies"))
    assert "550" in replies and "5.7.1" in replies and "relaying denied" in replies, replies
    trace = b.find_all("#explain-trace tr")
    assert len(trace) > 2, b.text(b.find("#explain-trace"))
    b.screenshot(screenshot_dir(tmp_path) / "explain-result.png")


def test_a_queue_action_from_the_queue_page(console, tmp_path):
    b, srv = console.b, console.srv
    qid = queue_one(srv)
    console.sign_in()
    console.open("/console/queue")
    row = f"tr[data-id='{qid}']"
    b.wait_for(row)
    b.click(b.find(f"{row} input[name=id]"))
    b.click(b.find("#action-hold"))
    b.wait_until(lambda: b.ready() and b.exists("#done"), what="the queue page after Hold")
    assert qid in b.text(b.find("#done"))

    def held():
        r = srv.queue_cli("list", "--json")
        assert r.returncode == 0, r.stderr
        return any(m["id"] == qid and m["held"] for m in json.loads(r.stdout)["messages"])
    wait_for(held, timeout=30, what="rampart queue list to show the message held")
    assert any(e.get("user") == ADMIN and qid in e.get("what", "") for e in srv.log_events("console.change"))
