"""A private Postfix instance as a test peer (the way bench/run.sh runs one): its own
config_directory and queue_directory in a temporary directory, smtpd on a loopback port,
relaying everything to `relayhost`. Needs root (Postfix drops to user postfix itself).

    pf = Postfix(relayhost_port=sink.port, tls_cert=cert, tls_key=key).start()
    pf = Postfix(relayhost_port=..., main_cf={"smtpd_relay_restrictions": "permit"})   # extra parameters
    ...
    pf.stop()

Pitfalls handled here: the queue directory must be traversable by user postfix (mkdtemp
makes 0700 directories, so 0755); Debian's master.cf chroots daemons, ours does not;
without the postlog service Postfix logs nothing (no syslog in a container).
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from conftest import free_port, port_accepts

MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def available():
    return shutil.which("postfix") is not None and os.geteuid() == 0


class Postfix:
    def __init__(self, relayhost_port, tls_cert=None, tls_key=None, hostname="next-hop.test", main_cf=None):
        self.work = Path(tempfile.mkdtemp(prefix="rampart-postfix-", dir="/var/tmp"))
        self.work.chmod(0o755)
        self.conf = self.work / "conf"
        self.queue = self.work / "queue"
        self.log_path = self.work / "postfix.log"
        self.port = free_port()
        self.conf.mkdir()
        self.queue.mkdir()
        tls = "none"
        tls_lines = ""
        if tls_cert:
            tls = "may"
            tls_lines = f"smtpd_tls_cert_file = {tls_cert}\nsmtpd_tls_key_file = {tls_key}\nsmtpd_tls_received_header = yes\n"
        (self.conf / "main.cf").write_text(f"""\
compatibility_level = 3.6
queue_directory = {self.queue}
data_directory = {self.work}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = {hostname}
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:{relayhost_port}
smtpd_tls_security_level = {tls}
{tls_lines}smtp_tls_security_level = none
smtp_dns_support_level = disabled
biff = no
maillog_file = {self.log_path}
""")
        if main_cf:   # main.cf parameters to set: replaced in place or added (Postfix warns on duplicates)
            lines = (self.conf / "main.cf").read_text().splitlines()
            rest = dict(main_cf)
            lines = [f"{l.split(' = ')[0]} = {rest.pop(l.split(' = ')[0])}" if l.split(" = ")[0] in rest else l for l in lines]
            lines += [f"{k} = {v}" for k, v in rest.items()]
            (self.conf / "main.cf").write_text("\n".join(lines) + "\n")
        (self.conf / "master.cf").write_text(MASTER_CF.format(port=self.port))
        self.started = False

    def _postfix(self, *args):
        return subprocess.run(["postfix", "-c", str(self.conf), *args], capture_output=True, text=True, timeout=60)

    def start(self, timeout=20.0):
        for step in ("check", "start"):
            r = self._postfix(step)
            if r.returncode != 0:
                raise AssertionError(f"postfix {step} failed:\n{r.stdout}{r.stderr}")
        self.started = True
        deadline = time.monotonic() + timeout
        while not port_accepts("127.0.0.1", self.port):
            if time.monotonic() >= deadline:
                self.stop()
                raise AssertionError(f"postfix did not listen on {self.port}:\n{self.log()}")
            time.sleep(0.05)
        return self

    def master_pid(self):
        try:
            return int((self.queue / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self, timeout=20.0):
        if self.started:
            pid = self.master_pid()
            self._postfix("stop")
            deadline = time.monotonic() + timeout
            while pid and time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            else:
                if pid:
                    try:
                        os.kill(pid, signal.SIGKILL)   # our own master, by PID
                    except ProcessLookupError:
                        pass
            self.started = False
        shutil.rmtree(self.work, ignore_errors=True)

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""
