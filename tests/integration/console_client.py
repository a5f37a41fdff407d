"""A small client of rampart's web console (docs/console.md) for the integration tests, and
the fixture helper that starts rampart with the console and a directory to sign in with.

ConsoleClient keeps cookies in an http.cookiejar, never follows redirects (a test sees the
303 and its Location), reads the CSRF token from the last page it got, and sends it with
an Origin header on every POST, as a browser does.

start_console_server(rampart_factory) starts rampart with the admin listener on a free
loopback port and the directory users:
  admin / console-pass-1   in group rampart-admins (may sign in)
  carol / console-pass-3   in group operators, which is a member of rampart-admins (nested)
  bob   / console-pass-2   in no admin group (may not)
"""
import http.cookiejar
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request

from conftest import DOMAIN, RAMPART_BIN

ADMIN_USER, ADMIN_PASSWORD = "admin", "console-pass-1"
OTHER_USER, OTHER_PASSWORD = "bob", "console-pass-2"
NESTED_USER, NESTED_PASSWORD = "carol", "console-pass-3"

_CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class ConsoleClient:
    def __init__(self, base_url, context=None, timeout=30):
        self.base_url = base_url.rstrip("/")
        u = urllib.parse.urlsplit(self.base_url)
        self.origin = f"{u.scheme}://{u.netloc}"
        self.jar = http.cookiejar.CookieJar()
        handlers = [urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()]
        if context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self.opener = urllib.request.build_opener(*handlers)
        self.timeout = timeout
        self.csrf = None            # the token of the last page that had a form
        self.last_headers = None    # the headers of the last response (an email.message.Message)
        self.last_set_cookies = []  # its Set-Cookie values, raw

    # ---- requests ----
    def request(self, method, path, body=None, headers=None):
        """One request; returns (status, text, headers). Never raises for an HTTP status."""
        req = urllib.request.Request(self.base_url + path, data=body, method=method, headers=dict(headers or {}))
        try:
            resp = self.opener.open(req, timeout=self.timeout)
        except urllib.error.HTTPError as e:   # 3xx (not followed), 4xx and 5xx
            resp = e
        with resp:
            text = resp.read().decode("utf-8", "replace")
            status = resp.status if hasattr(resp, "status") else resp.code
            hdrs = resp.headers
        self.last_headers = hdrs
        self.last_set_cookies = hdrs.get_all("Set-Cookie") or []
        m = _CSRF.search(text)
        if m:
            self.csrf = m.group(1)
        return status, text, hdrs

    def get(self, path):
        """GET `path` ("/console/queue?x=1") → (status, html)."""
        status, text, _ = self.request("GET", path)
        return status, text

    def post(self, path, fields, csrf=True, origin=True, content_type="application/x-www-form-urlencoded", headers=None):
        """POST a form → (status, html, location). `fields`: a dict or a list of pairs.
        csrf: True adds the token of the last page (unless fields has one), None sends none,
        a string sends that. origin: True sends this console's Origin, None sends none, a
        string sends that."""
        pairs = list(fields.items()) if isinstance(fields, dict) else list(fields)
        if csrf is True and not any(k == "csrf" for k, _ in pairs):
            pairs.append(("csrf", self.csrf or ""))
        elif isinstance(csrf, str):
            pairs.append(("csrf", csrf))
        h = {"Content-Type": content_type}
        if origin is True:
            h["Origin"] = self.origin
        elif isinstance(origin, str):
            h["Origin"] = origin
        h.update(headers or {})
        status, text, hdrs = self.request("POST", path, urllib.parse.urlencode(pairs).encode(), h)
        return status, text, hdrs.get("Location")

    # ---- sign-in ----
    def login(self, user, password, next=None):
        """Opens the sign-in form, posts it; on success (303) opens the page it leads to, so
        the session's CSRF token is the one the next post carries. → (status, html, location)
        of the sign-in POST."""
        self.get("/console/login" + ("?next=" + urllib.parse.quote(next, safe="") if next else ""))
        fields = {"user": user, "password": password}
        if next:
            fields["next"] = next
        status, text, location = self.post("/console/login", fields)
        if status == 303 and location:
            self.get(location)
        return status, text, location

    def logout(self):
        return self.post("/console/logout", {})

    def cookie(self, name):
        for c in self.jar:
            if c.name == name:
                return c.value
        return None


def rampart_cli(srv, *args, stdin=None):
    r = subprocess.run([RAMPART_BIN, *args, "-c", str(srv.config_path)], input=stdin, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


def add_console_users(srv):
    """The directory of the console tests (see the module's docstring), with the real
    `rampart user/group` commands."""
    for user, password in ((ADMIN_USER, ADMIN_PASSWORD), (OTHER_USER, OTHER_PASSWORD), (NESTED_USER, NESTED_PASSWORD)):
        rampart_cli(srv, "user", "add", user, "--address", f"{user}@{DOMAIN}", stdin=password + "\n")
    rampart_cli(srv, "group", "add", "operators", "--member", f"user:{NESTED_USER}")
    rampart_cli(srv, "group", "add", "rampart-admins", "--member", f"user:{ADMIN_USER}", "--member", "group:operators")


def start_console_server(rampart_factory, extra_config="", base_url=None, **kw):
    """Starts rampart (Rampart kwargs in kw) with the console's directory; returns (srv,
    base_url). The admin listener is the factory's free loopback port unless extra_config
    has its own [admin] section — then pass base_url."""
    srv = rampart_factory(start=False, extra_config=extra_config, **kw)
    add_console_users(srv)
    srv.start()
    return srv, base_url or f"http://127.0.0.1:{srv.admin_port}"
