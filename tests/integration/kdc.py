"""A throwaway MIT Kerberos realm for the GSSAPI tests: krb5kdc (Debian krb5-kdc) on a free
loopback port, its database made with kdb5_util, principals and keytabs written with
kadmin.local (krb5-admin-server; no kadmind runs). Everything lives in one temporary
directory with its own krb5.conf/kdc.conf (KRB5_CONFIG, KRB5_KDC_PROFILE); the KDC is
stopped by PID.

Use the `kdc` fixture (module scope): kdc.principal("alice", password="pw"),
kdc.keytab(path, "smtp/mx.example.test"), kdc.kinit("alice", ccache, password="pw").
"""
import os
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import free_port, port_accepts, wait_for

REALM = "EXAMPLE.TEST"
TOOL_TIMEOUT = 30


class Kdc:
    def __init__(self, workdir, realm=REALM):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.realm = realm
        self.port = free_port()
        self.krb5_conf = self.dir / "krb5.conf"
        self.kdc_conf = self.dir / "kdc.conf"
        self.rcache = self.dir / "rcache"
        self.proc = None

    # Environment for every Kerberos program of the test (client library, rampart, tools).
    def env(self, ccache=None):
        e = dict(os.environ)
        e["KRB5_CONFIG"] = str(self.krb5_conf)
        e["KRB5_KDC_PROFILE"] = str(self.kdc_conf)
        e["KRB5RCACHEDIR"] = str(self.rcache)
        if ccache:
            e["KRB5CCNAME"] = "FILE:" + str(ccache)
        return e

    def write_configs(self):
        self.rcache.mkdir(exist_ok=True)
        self.krb5_conf.write_text(f"""[libdefaults]
    default_realm = {self.realm}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    udp_preference_limit = 1
[realms]
    {self.realm} = {{
        kdc = 127.0.0.1:{self.port}
    }}
[domain_realm]
    .example.test = {self.realm}
    example.test = {self.realm}
""")
        self.kdc_conf.write_text(f"""[kdcdefaults]
    kdc_listen = 127.0.0.1:{self.port}
    kdc_tcp_listen = 127.0.0.1:{self.port}
[realms]
    {self.realm} = {{
        database_name = {self.dir}/principal
        key_stash_file = {self.dir}/stash
        acl_file = {self.dir}/kadm5.acl
        kdc_listen = 127.0.0.1:{self.port}
        kdc_tcp_listen = 127.0.0.1:{self.port}
        max_life = 10h 0m 0s
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }}
[logging]
    kdc = FILE:{self.dir}/kdc.log
""")
        (self.dir / "kadm5.acl").write_text("")

    def run(self, argv, stdin=None, ccache=None):
        r = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=TOOL_TIMEOUT,
                           env=self.env(ccache))
        assert r.returncode == 0, f"{argv[0]} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
        return r.stdout

    def kadmin(self, *queries):
        # kadmin.local edits the database directly; one process for all queries.
        out = self.run(["kadmin.local", "-r", self.realm], stdin="\n".join(queries) + "\nquit\n")
        return out

    def start(self):
        self.write_configs()
        self.run(["kdb5_util", "create", "-s", "-r", self.realm, "-P", "rampart-test-master"])
        log = open(self.dir / "krb5kdc.out", "ab")
        try:
            # -n: stay in the foreground, so the PID is the KDC's own.
            self.proc = subprocess.Popen(["krb5kdc", "-n", "-r", self.realm], stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL, env=self.env())
        finally:
            log.close()

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"krb5kdc exited with {self.proc.returncode}: "
                                     + (self.dir / "krb5kdc.out").read_text(errors="replace"))
            return port_accepts("127.0.0.1", self.port)

        wait_for(up, timeout=15, what="krb5kdc listening")
        return self

    def stop(self):
        p = self.proc
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)

    # ---- realm contents ----
    def principal(self, name, password=None):
        """Adds NAME (with a password, or a random key) and returns NAME@REALM."""
        q = f"addprinc -pw {password} {name}" if password else f"addprinc -randkey {name}"
        self.kadmin(q)
        return f"{name}@{self.realm}"

    def keytab(self, path, *names):
        """Writes the keys of NAMES to the keytab at PATH (new random keys, as `ktadd` does)."""
        self.kadmin(*(f"ktadd -k {path} {n}" for n in names))
        return Path(path)

    def kinit(self, name, ccache, password=None, keytab=None):
        """A ticket-granting ticket for NAME in the credential cache CCACHE."""
        if keytab:
            self.run(["kinit", "-k", "-t", str(keytab), name], ccache=ccache)
        else:
            self.run(["kinit", name], stdin=password + "\n", ccache=ccache)
        return ccache


@pytest.fixture(scope="module")
def kdc(tmp_path_factory):
    k = Kdc(tmp_path_factory.mktemp("kdc"))
    # The GSSAPI client library in this process and the rampart child read the realm's
    # krb5.conf through the environment; restore it afterwards.
    saved = {v: os.environ.get(v) for v in ("KRB5_CONFIG", "KRB5RCACHEDIR", "KRB5CCNAME")}
    try:
        k.start()
        os.environ["KRB5_CONFIG"] = str(k.krb5_conf)
        os.environ["KRB5RCACHEDIR"] = str(k.rcache)
        yield k
    finally:
        k.stop()
        for v, old in saved.items():
            if old is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = old
