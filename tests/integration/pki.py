"""A throwaway certificate authority for the TLS tests, made with the openssl command line.

    ca = TestCA(tmp_path / "pki")
    cert, key = ca.issue("hub", dns=["localhost"], ips=["127.0.0.1"])
    ca.self_signed("stranger")          # not from the CA

Keys are EC P-256; certificates are valid from one hour ago for 30 days unless told otherwise.
"""
import subprocess
from pathlib import Path


def _openssl(*args, cwd=None):
    r = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60, cwd=cwd)
    if r.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed:\n{r.stderr}")
    return r.stdout


def fingerprint(cert_path):
    """SHA-256 fingerprint as rampart stores it: lower-case hex, no colons."""
    out = _openssl("x509", "-in", str(cert_path), "-noout", "-fingerprint", "-sha256")
    return out.strip().split("=", 1)[1].replace(":", "").lower()


class TestCA:
    __test__ = False  # not a pytest test class

    def __init__(self, directory, name="rampart test CA"):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cert = self.dir / "ca.pem"
        self.key = self.dir / "ca.key"
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", str(self.key), "-out", str(self.cert), "-days", "30", "-subj", f"/CN={name}",
                 "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self.serial = 1

    def _key_and_csr(self, name):
        key = self.dir / f"{name}.key"
        csr = self.dir / f"{name}.csr"
        _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={name}")
        return key, csr

    @staticmethod
    def _ext_file(path, dns, ips):
        san = [f"DNS:{d}" for d in dns] + [f"IP:{i}" for i in ips]
        lines = ["basicConstraints=CA:FALSE", "extendedKeyUsage=serverAuth,clientAuth"]
        if san:
            lines.append("subjectAltName=" + ",".join(san))
        path.write_text("\n".join(lines) + "\n")

    def issue(self, name, dns=(), ips=(), days=30):
        """Certificate for `name` signed by this CA -> (cert_path, key_path)."""
        key, csr = self._key_and_csr(name)
        cert = self.dir / f"{name}.pem"
        ext = self.dir / f"{name}.ext"
        self._ext_file(ext, dns, ips)
        self.serial += 1
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(self.cert), "-CAkey", str(self.key),
                 "-set_serial", str(self.serial), "-days", str(days), "-out", str(cert), "-extfile", str(ext))
        return cert, key

    def self_signed(self, name, dns=()):
        """A certificate no CA vouches for -> (cert_path, key_path)."""
        key = self.dir / f"{name}.key"
        cert = self.dir / f"{name}.pem"
        args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", str(key), "-out", str(cert), "-days", "30", "-subj", f"/CN={name}"]
        for d in dns:
            args += ["-addext", f"subjectAltName=DNS:{d}"]
        _openssl(*args)
        return cert, key
