#!/usr/bin/python3
"""Regenerates the DKIM test messages in this directory with a real signer: Debian's
python3-dkim (dkimpy 1.1; ed25519 through python3-nacl), keys made by the openssl CLI.

usage: tests/unit/senderauth/data/make_data.py   (writes *.eml and *.txt next to itself)

Every message is verified with dkimpy against the key written next to it before it is
kept, so the committed data is what a second, independent implementation accepts (or, for
the cases meant to be refused, what it was signed as). The keys are new on every run:
regenerating changes every file; dkim_test.cpp reads them, it does not hard-code them."""
import base64
import os
import subprocess
import sys

import dkim
import nacl.signing
from dkim.canonicalization import CanonicalizationPolicy

HERE = os.path.dirname(os.path.abspath(__file__))
DOMAIN = b"example.test"

BODY = (b"Hello  Bob,\r\n"
        b"\r\n"
        b"The meeting   is at 10:00.\t \r\n"
        b"  Indented line with trailing space  \r\n"
        b"\r\n"
        b"Alice\r\n"
        b"\r\n"
        b"\r\n")


def message(subject):
    return (b"From: Alice <alice@example.test>\r\n"
            b"To: Bob <bob@example.org>\r\n"
            b"Subject:  " + subject + b"\r\n"
            b"Date: Tue, 01 Dec 2026 18:00:00 +0000\r\n"
            b"Message-ID: <" + subject.replace(b" ", b"-") + b"@example.test>\r\n"
            b"X-Folded: one\r\n"
            b"  two\t three\r\n"
            b"\r\n" + BODY)


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, check=True, capture_output=True).stdout


def rsa_key(bits):
    pem = openssl("genrsa", "-traditional", str(bits))
    der = openssl("rsa", "-pubout", "-outform", "DER", data=pem)
    return pem, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def check(msg, keys, expect):
    def dns(name, timeout=5):
        return keys.get(name)
    got = dkim.verify(msg, dnsfunc=dns, minkey=512)
    if got != expect:
        sys.exit(f"dkimpy verify gave {got}, expected {expect}")


def signed(msg, selector, key, **kw):
    return dkim.sign(msg, selector, DOMAIN, key, **kw) + msg


def signed_with_expiry(msg, selector, key, t, x):
    """dkimpy's sign() writes no x=; its own gen_header does the signing with our tags."""
    d = dkim.DKIM(msg)
    pk = dkim.crypto.parse_pem_private_key(key)
    canon = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
    include = (b"from", b"to", b"subject", b"date")
    body = canon.canonicalize_body(d.body)
    d.hasher = dkim.HASH_ALGORITHMS[b"rsa-sha256"]
    h = d.hasher()
    h.update(body)
    fields = [(b"v", b"1"), (b"a", b"rsa-sha256"), (b"c", b"relaxed/relaxed"), (b"d", DOMAIN),
              (b"s", selector), (b"t", str(t).encode()), (b"x", str(x).encode()),
              (b"h", b":".join(include)), (b"bh", base64.b64encode(h.digest())), (b"b", b"0" * 60)]
    return b"DKIM-Signature: " + d.gen_header(fields, include, canon, b"DKIM-Signature", pk) + msg


def main():
    rsa_pem, rsa_txt = rsa_key(2048)
    short_pem, short_txt = rsa_key(512)
    ed = nacl.signing.SigningKey.generate()
    ed_priv = base64.b64encode(bytes(ed))
    ed_txt = b"v=DKIM1; k=ed25519; p=" + base64.b64encode(bytes(ed.verify_key))
    keys = {b"rsa._domainkey.example.test.": rsa_txt, b"short._domainkey.example.test.": short_txt,
            b"ed._domainkey.example.test.": ed_txt}
    write("rsa.txt", rsa_txt + b"\n")
    write("short.txt", short_txt + b"\n")
    write("ed.txt", ed_txt + b"\n")

    # From and Subject oversigned (listed once more than present): a second Subject added
    # later breaks the signature (RFC 6376 §8.15).
    over = [b"from", b"to", b"subject", b"date", b"message-id", b"x-folded", b"from", b"subject"]
    cases = [
        ("rsa_relaxed.eml", message(b"relaxed relaxed"), "rsa", rsa_pem,
         dict(canonicalize=(b"relaxed", b"relaxed"), include_headers=over), True),
        ("rsa_simple.eml", message(b"simple simple"), "rsa", rsa_pem,
         dict(canonicalize=(b"simple", b"simple"), include_headers=over), True),
        ("rsa_length.eml", message(b"with length"), "rsa", rsa_pem,
         dict(canonicalize=(b"relaxed", b"simple"), length=True), True),
        ("ed25519.eml", message(b"ed25519"), "ed", ed_priv,
         dict(canonicalize=(b"relaxed", b"relaxed"), signature_algorithm=b"ed25519-sha256",
              include_headers=over), True),
        ("rsa_sha1.eml", message(b"sha1"), "rsa", rsa_pem,
         dict(canonicalize=(b"relaxed", b"relaxed"), signature_algorithm=b"rsa-sha1"), True),
        ("rsa_short.eml", message(b"short key"), "short", short_pem,
         dict(canonicalize=(b"relaxed", b"relaxed")), True),
        # i= a subdomain of d=: fine, unless the key says t=s.
        ("rsa_identity.eml", message(b"identity"), "rsa", rsa_pem,
         dict(canonicalize=(b"relaxed", b"relaxed"), identity=b"bob@mail.example.test"), True),
        # X-Trace twice, signed once: the signature covers the bottom one (RFC 6376 §5.4.2).
        ("rsa_repeated.eml", b"X-Trace: first\r\nX-Trace: second\r\n" + message(b"repeated"), "rsa", rsa_pem,
         dict(canonicalize=(b"relaxed", b"relaxed"), include_headers=[b"from", b"x-trace"]), True),
    ]
    for name, msg, sel, key, kw, expect in cases:
        out = signed(msg, sel.encode(), key, **kw)
        check(out, keys, expect)
        write(name, out)
    # t= and x= in 2001: dkimpy refuses it as expired; dkim_test.cpp checks both sides of x=.
    out = signed_with_expiry(message(b"expires"), b"rsa", rsa_pem, 1000000000, 1000000100)
    check(out, keys, False)
    write("rsa_expired.eml", out)
    print("wrote", len(cases) + 1, "messages and 3 keys to", HERE)


if __name__ == "__main__":
    main()
