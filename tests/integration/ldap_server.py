"""A throwaway OpenLDAP slapd (Debian slapd + ldap-utils) for the LDAP directory tests.

Its own slapd.conf and mdb database in a temp dir, suffix dc=example,dc=test, loaded offline
with slapadd, listening on ldap://127.0.0.1:<free port>, run in the foreground (-d 0) so the
PID we hold is slapd's own; stopped by that PID. Changes while running go through ldapmodify.
Installing the Debian package does not start a system slapd; its /etc/ldap config is unused.
"""
import shutil
import subprocess
import time
from pathlib import Path

from conftest import free_port, port_accepts, wait_for

SUFFIX = "dc=example,dc=test"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PW = "admin-secret"

# The piece of MIT Kerberos' LDAP schema (krb5-kdc-ldap) that names a user's principal.
KERBEROS_SCHEMA = """\
attributetype ( 2.16.840.1.113719.1.301.4.1.1 NAME 'krbPrincipalName'
  EQUALITY caseExactIA5Match SUBSTR caseExactSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.26 )
objectclass ( 2.16.840.1.113719.1.301.6.8.1 NAME 'krbPrincipalAux' SUP top AUXILIARY
  MAY ( krbPrincipalName ) )
"""


def person(uid, password_hash, mails=(), principal=None):
    lines = [f"dn: uid={uid},ou=people,{SUFFIX}", "objectClass: inetOrgPerson"]
    if principal:
        lines.append("objectClass: krbPrincipalAux")
    lines += [f"uid: {uid}", f"cn: {uid}", "sn: Test"]
    lines += [f"mail: {m}" for m in mails]
    if principal:
        lines.append(f"krbPrincipalName: {principal}")
    lines.append(f"userPassword: {password_hash}")
    return "\n".join(lines) + "\n"


def group(cn, members):
    lines = [f"dn: cn={cn},ou=groups,{SUFFIX}", "objectClass: groupOfNames", f"cn: {cn}"]
    lines += [f"member: {m}" for m in members]
    return "\n".join(lines) + "\n"


def user_dn(uid):
    return f"uid={uid},ou=people,{SUFFIX}"


def group_dn(cn):
    return f"cn={cn},ou=groups,{SUFFIX}"


class Slapd:
    def __init__(self, workdir, tls=False):
        for tool in ("slapd", "slapadd", "slappasswd", "ldapmodify"):
            if not shutil.which(tool) and not Path("/usr/sbin", tool).exists():
                raise AssertionError(f"{tool} not found: install slapd and ldap-utils (scripts/deps.sh test)")
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "db").mkdir(exist_ok=True)
        self.port = free_port()
        self.uri = f"ldap://127.0.0.1:{self.port}"
        self.proc = None
        (self.dir / "kerberos.schema").write_text(KERBEROS_SCHEMA)
        tls_conf = self.make_certificates() if tls else ""
        (self.dir / "slapd.conf").write_text(f"""\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include {self.dir}/kerberos.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {self.dir}/slapd.pid
argsfile {self.dir}/slapd.args
{tls_conf}loglevel stats
database mdb
maxsize 67108864
suffix "{SUFFIX}"
rootdn "{ROOT_DN}"
rootpw {ROOT_PW}
directory {self.dir}/db
index objectClass,uid,mail,member eq
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
""")

    def make_certificates(self):
        """A throwaway CA and a server certificate for localhost/127.0.0.1 (StartTLS)."""
        d = self.dir
        def ossl(*args):
            subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)
        ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=rampart test LDAP CA",
             "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"))
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", str(d / "server.key"),
             "-out", str(d / "server.csr"))
        (d / "san.ext").write_text("subjectAltName = DNS:localhost, IP:127.0.0.1\n")
        ossl("x509", "-req", "-in", str(d / "server.csr"), "-CA", str(d / "ca.pem"), "-CAkey", str(d / "ca.key"),
             "-CAcreateserial", "-days", "2", "-extfile", str(d / "san.ext"), "-out", str(d / "server.pem"))
        self.ca_file = d / "ca.pem"
        return (f"TLSCACertificateFile {d}/ca.pem\nTLSCertificateFile {d}/server.pem\n"
                f"TLSCertificateKeyFile {d}/server.key\n")

    def slappasswd(self, password):
        r = subprocess.run(["/usr/sbin/slappasswd", "-s", password], capture_output=True, text=True, timeout=30, check=True)
        return r.stdout.strip()

    def load(self, ldif_entries):
        """Offline bulk load (before start)."""
        base = f"""dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
o: Example Test
dc: example

dn: ou=people,{SUFFIX}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{SUFFIX}
objectClass: organizationalUnit
ou: groups
"""
        ldif = self.dir / "data.ldif"
        ldif.write_text(base + "\n" + "\n".join(ldif_entries))
        r = subprocess.run(["/usr/sbin/slapadd", "-f", str(self.dir / "slapd.conf"), "-l", str(ldif)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr

    def start(self, timeout=15):
        assert self.proc is None or self.proc.poll() is not None
        out = open(self.dir / "slapd.out", "ab")
        try:
            self.proc = subprocess.Popen(["/usr/sbin/slapd", "-f", str(self.dir / "slapd.conf"), "-h", self.uri + "/", "-d", "0"],
                                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        finally:
            out.close()
        deadline = time.monotonic() + timeout
        while not port_accepts("127.0.0.1", self.port):
            if self.proc.poll() is not None:
                raise AssertionError(f"slapd exited with {self.proc.returncode}:\n" + (self.dir / "slapd.out").read_text())
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError("slapd did not listen in time:\n" + (self.dir / "slapd.out").read_text())
            time.sleep(0.05)
        return self

    def stop(self, timeout=15):
        p = self.proc
        if p is None or p.poll() is not None:
            return
        p.terminate()  # our own child, by PID
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=timeout)
        # The listening socket is gone once the process is; make sure before a restart.
        wait_for(lambda: not port_accepts("127.0.0.1", self.port), timeout=timeout, what="slapd port closed")

    def modify(self, ldif):
        r = subprocess.run(["ldapmodify", "-x", "-H", self.uri, "-D", ROOT_DN, "-w", ROOT_PW],
                           input=ldif, capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr

    def directory_config(self, password_file, refresh_interval="1h"):
        """The [directory] section that points rampart here (TOML)."""
        password_file.write_text(ROOT_PW + "\n")
        return "\n".join([
            "[directory]",
            'backend = "ldap"',
            f'ldap_uri = "{self.uri}"',
            f'ldap_bind_dn = "{ROOT_DN}"',
            f'ldap_bind_password_file = "{password_file}"',
            f'ldap_base_dn = "{SUFFIX}"',
            'ldap_address_attributes = ["mail"]',
            'ldap_kerberos_attribute = "krbPrincipalName"',
            f'ldap_refresh_interval = "{refresh_interval}"',
        ])
