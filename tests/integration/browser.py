"""A real browser for the web console's tests: Debian's headless Chromium driven by its
chromedriver over plain W3C WebDriver HTTP (http.client; no selenium).

ChromeDriver runs in the foreground on a port this module chooses (127.0.0.1 only,
--allowed-ips=127.0.0.1), logs to its directory (with Chromium's own output,
--enable-chrome-logs) and is stopped by PID. Browser is one WebDriver session: a fresh
profile in a temporary directory, a 1280x800 window, root => --no-sandbox. Every call and
every wait has a deadline; a failure says what the driver answered.

Fixtures: `chromedriver` (one per test module) and `browser` (one session per test; the
driver's log tail is printed at teardown, which pytest shows only for a failed test).
Needs: chromium, chromium-driver (scripts/deps.sh test)."""
import base64
import http.client
import json
import os
import shutil
import tempfile
import time
import urllib.parse
from pathlib import Path

import pytest

from conftest import free_port
from daemon import Daemon

CHROMIUM = os.environ.get("RAMPART_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("RAMPART_CHROMEDRIVER", shutil.which("chromedriver") or "/usr/bin/chromedriver")

WIDTH, HEIGHT = 1280, 800
CALL_TIMEOUT = 90.0   # one WebDriver command (a page load on two busy cores included)
WAIT_TIMEOUT = 30.0   # wait_until's default deadline
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C web element reference key

# Keep Chromium off the network and quiet in a container or CI (no display, 2 cores).
CHROME_ARGS = [
    "--headless=new", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions",
    "--no-first-run", "--no-default-browser-check", "--metrics-recording-only", "--disable-breakpad",
    "--password-store=basic", "--use-mock-keychain", "--hide-scrollbars", "--force-device-scale-factor=1",
    "--disable-features=Translate,OptimizationHints,MediaRouter,PasswordLeakDetection",
    f"--window-size={WIDTH},{HEIGHT}",
]


class WebDriverError(AssertionError):
    def __init__(self, method, path, status, error, message):
        super().__init__(f"WebDriver {method} {path}: HTTP {status} {error}: {message}")
        self.error = error


class ChromeDriver(Daemon):
    """chromedriver on 127.0.0.1:<free port>, its log in `dir`."""
    name = "chromedriver"
    start_timeout = 30

    def __init__(self, workdir):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.log_path = self.dir / "chromedriver.log"

    def start(self):
        return self.launch([CHROMEDRIVER, f"--port={self.port}", "--allowed-ips=127.0.0.1",
                            f"--log-path={self.log_path}", "--enable-chrome-logs"],
                           "chromedriver.out", self._ready)

    def _ready(self):
        try:
            status, body = request(self.port, "GET", "/status", timeout=2)
            return status == 200 and body.get("value", {}).get("ready") is True
        except (OSError, ValueError, http.client.HTTPException):
            return False

    def diagnostics(self, lines=60):
        parts = []
        for p in (self.dir / "chromedriver.out", self.log_path):
            try:
                tail = p.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {p.name} (tail) ---\n" + "\n".join(tail))
            except OSError:
                pass
        return "\n".join(parts)

    def session(self, profile_dir):
        return Browser(self, profile_dir)


def request(port, method, path, body=None, timeout=CALL_TIMEOUT):
    """One HTTP call to the driver -> (status, decoded JSON)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else {}
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, (json.loads(raw) if raw else {})
    finally:
        conn.close()


class Browser:
    """One WebDriver session of headless Chromium. Elements are W3C element ids (str)."""

    def __init__(self, driver, profile_dir):
        self.driver = driver
        args = CHROME_ARGS + [f"--user-data-dir={profile_dir}"]
        if os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium's sandbox refuses to run as root
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "timeouts": {"implicit": 0, "pageLoad": int(CALL_TIMEOUT * 1000) - 10000, "script": 30000},
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
        }}}
        value = self._call("POST", "/session", caps, prefix=False)
        self.id = value["sessionId"]
        self.version = value["capabilities"].get("browserVersion", "?")
        self.set_viewport(WIDTH, HEIGHT)

    # ---- the protocol ----
    def _call(self, method, path, body=None, prefix=True):
        full = (f"/session/{self.id}" if prefix else "") + path
        if method == "POST" and body is None:
            body = {}
        status, reply = request(self.driver.port, method, full, body)
        value = reply.get("value") if isinstance(reply, dict) else None
        if status != 200:
            err = value if isinstance(value, dict) else {}
            raise WebDriverError(method, full, status, err.get("error", "?"), err.get("message", reply))
        return value

    def quit(self):
        self._call("DELETE", "")

    def set_viewport(self, width, height):
        """Sizes the window so that the page (and a screenshot) is width x height pixels;
        headless Chromium's window includes a frame of its own size."""
        dw, dh = self.execute("return [outerWidth - innerWidth, outerHeight - innerHeight]")
        self._call("POST", "/window/rect", {"width": width + dw, "height": height + dh})

    # ---- navigation ----
    def get(self, url):
        self._call("POST", "/url", {"url": url})

    def back(self):
        self._call("POST", "/back")

    def refresh(self):
        self._call("POST", "/refresh")

    @property
    def url(self):
        return self._call("GET", "/url")

    @property
    def path(self):
        return urllib.parse.urlsplit(self.url).path

    @property
    def title(self):
        return self._call("GET", "/title")

    @property
    def source(self):
        return self._call("GET", "/source")

    # ---- elements ----
    def find(self, css):
        """The first element matching `css`; WebDriverError 'no such element' if none."""
        return self._call("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def find_all(self, css):
        return [e[ELEMENT] for e in self._call("POST", "/elements", {"using": "css selector", "value": css})]

    def exists(self, css):
        return bool(self.find_all(css))

    def click(self, element):
        self._call("POST", f"/element/{element}/click")

    def clear(self, element):
        self._call("POST", f"/element/{element}/clear")

    def send_keys(self, element, text):
        self._call("POST", f"/element/{element}/value", {"text": text})

    def type_into(self, css, text):
        """Clears the field `css` and types `text` into it, as a person would."""
        el = self.find(css)
        self.clear(el)
        self.send_keys(el, text)
        return el

    def text(self, element):
        return self._call("GET", f"/element/{element}/text")

    def attribute(self, element, name):
        return self._call("GET", f"/element/{element}/attribute/{name}")

    def property(self, element, name):
        return self._call("GET", f"/element/{element}/property/{name}")

    def select(self, css, value):
        """Chooses option `value` of the <select> `css` by clicking it."""
        self.click(self.find(f"{css} option[value='{value}']"))

    def body_text(self):
        return self.text(self.find("body"))

    # ---- scripts, screenshots ----
    def execute(self, script, *args):
        return self._call("POST", "/execute/sync", {"script": script, "args": list(args)})

    def screenshot(self, path):
        """Saves the viewport as a PNG at `path`."""
        png = base64.b64decode(self._call("GET", "/screenshot"))
        assert png[:8] == b"\x89PNG\r\n\x1a\n", "screenshot is not a PNG"
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(png)
        return Path(path)

    # ---- waiting ----
    def wait_until(self, pred, timeout=WAIT_TIMEOUT, what="condition"):
        """Polls pred() until it is truthy; AssertionError naming `what` (and where the browser
        is) after `timeout` seconds. WebDriver errors inside pred count as not yet."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                v = pred()
                if v:
                    return v
            except WebDriverError as e:
                last = e
            if time.monotonic() >= deadline:
                try:
                    where = self.url
                except WebDriverError:
                    where = "?"
                raise AssertionError(f"timed out after {timeout}s waiting for {what} (at {where}; last error: {last})")
            time.sleep(0.1)

    def wait_for_path(self, path, timeout=WAIT_TIMEOUT):
        return self.wait_until(lambda: self.path == path, timeout, f"the page {path}")

    def wait_for(self, css, timeout=WAIT_TIMEOUT):
        """The first element matching `css`, once there is one."""
        return self.wait_until(lambda: self.find_all(css) and self.find_all(css)[0], timeout, f"an element {css}")

    def ready(self):
        return self.execute("return document.readyState") == "complete"


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def chromedriver():
    workdir = Path(tempfile.mkdtemp(prefix="rampart-chromedriver-"))
    drv = ChromeDriver(workdir).start()
    try:
        yield drv
    finally:
        drv.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def browser(chromedriver, tmp_path):
    """A fresh headless Chromium session (own profile: no cookies carried between tests)."""
    try:
        b = chromedriver.session(tmp_path / "chromium-profile")
    except Exception as e:
        raise AssertionError(f"could not start a Chromium session: {e}\n{chromedriver.diagnostics()}") from e
    try:
        yield b
    finally:
        try:
            b.quit()
        finally:
            # Shown by pytest only when the test failed.
            print(chromedriver.diagnostics())
