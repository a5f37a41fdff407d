"""A throwaway Dovecot (Debian dovecot-core, dovecot-lmtpd, dovecot-imapd) as the LMTP
mailbox store, with IMAP to read what arrived. Runs in the foreground (`dovecot -F`) with its
own configuration, base_dir and Maildirs in a temporary directory, on free loopback ports
(LMTP over TCP and a unix socket), and is stopped by PID.

Users come from a passwd-file: NAME@example.test with password NAMEpw. A user given a quota
(quota_bytes) refuses bigger messages after the data (per-recipient LMTP reply).
"""
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from conftest import free_port, port_accepts, wait_for


class Dovecot:
    def __init__(self, users=("alice", "bob"), quota_bytes=None, domain="example.test"):
        self.dir = Path(tempfile.mkdtemp(prefix="rampart-dovecot-"))
        os.chmod(self.dir, 0o755)   # the mail processes (uid below) must traverse it
        self.lmtp_port = free_port()
        self.imap_port = free_port()
        self.socket = self.dir / "run" / "lmtp-rampart"
        self.domain = domain
        self.users = list(users)
        self.quota_bytes = dict(quota_bytes or {})
        self.proc = None
        # Dovecot will not deliver mail as root: use its own unprivileged system user then.
        if os.getuid() == 0:
            pw = pwd.getpwnam("dovecot")
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
        else:
            self.uid, self.gid = os.getuid(), os.getgid()

    def address(self, user):
        return f"{user}@{self.domain}"

    def write_config(self):
        for sub in ("run", "state", "mail"):
            (self.dir / sub).mkdir(exist_ok=True)
        os.chown(self.dir / "mail", self.uid, self.gid)
        lines = []
        for u in self.users:
            extra = f"userdb_quota_rule=*:storage={self.quota_bytes[u]}B" if u in self.quota_bytes else ""
            lines.append(f"{self.address(u)}:{{PLAIN}}{u}pw:{self.uid}:{self.gid}::{self.dir}/mail/{u}::{extra}")
        (self.dir / "users").write_text("\n".join(lines) + "\n")
        d = self.dir
        (d / "dovecot.conf").write_text(f"""
instance_name = rampart-test-{d.name}
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot-info.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
auth_username_format = %Lu
first_valid_uid = 1
mail_location = maildir:~/Maildir
mail_plugins = quota
plugin {{
  quota = maildir:User quota
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/users
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.lmtp_port}
  }}
  unix_listener lmtp-rampart {{
    mode = 0666
  }}
}}
protocol lmtp {{
  postmaster_address = postmaster@{self.domain}
  mail_plugins = quota
}}
service anvil {{
  chroot =
}}
""")

    def start(self, timeout=15):
        self.write_config()
        out = open(self.dir / "dovecot.out", "ab")
        try:
            self.proc = subprocess.Popen(["dovecot", "-F", "-c", str(self.dir / "dovecot.conf")],
                                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        finally:
            out.close()
        deadline = time.monotonic() + timeout
        while not (port_accepts("127.0.0.1", self.lmtp_port) and port_accepts("127.0.0.1", self.imap_port)
                   and self.socket.exists()):
            if self.proc.poll() is not None or time.monotonic() >= deadline:
                self.stop()
                raise AssertionError("dovecot did not start:\n" + self.diagnostics())
            time.sleep(0.05)
        return self

    def stop(self, timeout=10):
        p = self.proc
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGTERM)   # our own child, by PID
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=timeout)
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def diagnostics(self):
        parts = []
        for name in ("dovecot.out", "dovecot.log", "dovecot-info.log"):
            try:
                parts.append(f"--- {name} ---\n" + "\n".join((self.dir / name).read_text(errors="replace").splitlines()[-20:]))
            except OSError:
                pass
        return "\n".join(parts)

    def fetch_all(self, user):
        """Every message in the user's INBOX, over IMAP (imaplib), as bytes."""
        import imaplib
        c = imaplib.IMAP4("127.0.0.1", self.imap_port)
        try:
            c.login(self.address(user), f"{user}pw")
            c.select("INBOX")
            typ, data = c.search(None, "ALL")
            out = []
            for num in data[0].split():
                typ, msg = c.fetch(num, "(RFC822)")
                out.append(msg[0][1])
            return out
        finally:
            try:
                c.logout()
            except Exception:
                pass

    def wait_messages(self, user, count, timeout=20, what=""):
        return wait_for(lambda: (lambda m: m if len(m) >= count else None)(self.fetch_all(user)), timeout,
                        interval=0.1, what=f"{count} message(s) for {user} at dovecot {what}")
