"""A throwaway OpenDKIM (Debian opendkim) as a real milter: its own key pair made by
opendkim-genkey for example.test (selector "test"), its own opendkim.conf in a temporary
directory, TCP on a free loopback port, in the foreground; started here, stopped by PID,
ready when the port accepts. Mode "sv": it signs mail from InternalHosts (only RELAY_IP, the
tests' organisation relay)
or from an authenticated client ({auth_authen}) and verifies everything else, adding
Authentication-Results (AuthservID mx.example.test). No DNS: the public key is given to
it by TestDNSData, and to the tests' own verifier (python3-dkim) by dns_txt()."""
import base64
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from conftest import RELAY_IP, free_port

OPENDKIM = shutil.which("opendkim") or "/usr/sbin/opendkim"
GENKEY = shutil.which("opendkim-genkey") or "/usr/sbin/opendkim-genkey"
START_TIMEOUT = 30
SELECTOR = "test"
DKIM_DOMAIN = "example.test"
AUTHSERV_ID = "mx.example.test"


class OpenDkim:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="rampart-opendkim-"))
        self.port = free_port()
        self.address = f"inet:127.0.0.1:{self.port}"
        self.proc = None
        self.txt = None

    def write_config(self):
        d = self.dir
        keys = d / "keys"
        if not (keys / f"{SELECTOR}.private").exists():
            keys.mkdir(exist_ok=True)
            subprocess.run([GENKEY, "--bits=1024", f"--domain={DKIM_DOMAIN}", f"--selector={SELECTOR}",
                            f"--directory={keys}"], check=True, timeout=60, capture_output=True)
            (keys / f"{SELECTOR}.private").chmod(0o600)
        der = subprocess.run(["openssl", "rsa", "-in", str(keys / f"{SELECTOR}.private"), "-pubout", "-outform", "DER"],
                             check=True, capture_output=True, timeout=30).stdout
        self.txt = f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"
        (d / "testdns").write_text(f"{SELECTOR}._domainkey.{DKIM_DOMAIN} {self.txt}\n")
        (d / "opendkim.conf").write_text(f"""Syslog                  no
LogWhy                  yes
Background              no
Mode                    sv
Socket                  inet:{self.port}@127.0.0.1
PidFile                 {d}/opendkim.pid
Domain                  {DKIM_DOMAIN}
Selector                {SELECTOR}
KeyFile                 {keys}/{SELECTOR}.private
Canonicalization        relaxed/simple
SignatureAlgorithm      rsa-sha256
InternalHosts           {RELAY_IP}
AuthservID              {AUTHSERV_ID}
AlwaysAddARHeader       yes
TestDNSData             file:{d}/testdns
RequireSafeKeys         no
""")

    def accepts(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def start(self):
        self.write_config()
        self.out = open(self.dir / "opendkim.out", "ab")
        self.proc = subprocess.Popen([OPENDKIM, "-f", "-x", str(self.dir / "opendkim.conf")], stdout=self.out,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while not self.accepts():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"opendkim did not start:\n{self.diagnostics()}")
            time.sleep(0.05)
        return self

    def kill(self):
        """Kills opendkim by PID, abruptly (SIGKILL), and waits until it is gone."""
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.out.close()
        self.proc = None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc:
            self.out.close()
        self.proc = None

    def dns_txt(self, name, timeout=5):
        """The DNS answer a DKIM verifier needs (dkim.verify's dnsfunc)."""
        name = name.decode() if isinstance(name, bytes) else name
        if name.rstrip(".") == f"{SELECTOR}._domainkey.{DKIM_DOMAIN}":
            return self.txt.encode()
        return None

    def diagnostics(self):
        p = self.dir / "opendkim.out"
        return p.read_text(errors="replace")[-3000:] if p.exists() else ""

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
