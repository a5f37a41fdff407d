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
import subprocess
import tempfile
from pathlib import Path

from conftest import RELAY_IP, free_port, port_accepts
from daemon import Daemon

OPENDKIM = shutil.which("opendkim") or "/usr/sbin/opendkim"
GENKEY = shutil.which("opendkim-genkey") or "/usr/sbin/opendkim-genkey"
START_TIMEOUT = 30
SELECTOR = "test"
DKIM_DOMAIN = "example.test"
AUTHSERV_ID = "mx.example.test"


class OpenDkim(Daemon):
    name = "opendkim"
    start_timeout = START_TIMEOUT

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
        return port_accepts("127.0.0.1", self.port)

    def start(self):
        self.write_config()
        return self.launch([OPENDKIM, "-f", "-x", str(self.dir / "opendkim.conf")], "opendkim.out", self.accepts)

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
