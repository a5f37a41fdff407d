#!/usr/bin/env python3
"""Writes the golden corpus inputs tests/unit/mime/cases/*.eml (CRLF line ends unless the
case is about LF) from the definitions below; deterministic, so re-running changes nothing.
The .expected files are written by the test runner with RAMPART_MIME_UPDATE=1 and must be
read and checked by a person before they are committed."""
import base64
import io
import os
import zipfile

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases")
CASES = {}


def case(name, text, crlf=True):
    data = text.encode("utf-8") if isinstance(text, str) else text
    if crlf:
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    CASES[name] = data


def b64(data):
    s = base64.b64encode(data).decode()
    return "\n".join(s[i:i + 76] for i in range(0, len(s), 76))


def make_zip(members, compress=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = compress
            z.writestr(info, data)
    return buf.getvalue()


MZ = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00" + bytes(range(64))
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + b"\x02\x00\x3e\x00" + bytes(range(40))
MACHO = b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + bytes(range(32))
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 40
RAR = b"Rar!\x1a\x07\x01\x00" + bytes(range(20))
SEVENZ = b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(range(20))
GZ = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(range(20))
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(16))

case("simple-text", """From: a@example.test
To: b@example.test
Subject: plain
Date: Mon, 1 Jan 2024 00:00:00 +0000
Message-ID: <1@example.test>

Hello,
just text.
""")

case("mime-text-qp", """From: a@example.test
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

Gr=C3=BC=C3=9Fe, soft=
 break and trailing space   
""")

case("multipart-mixed-attachments", f"""From: a@example.test
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer-1"

This is a multi-part message in MIME format.
--outer-1
Content-Type: text/plain; charset=us-ascii

See attached.
--outer-1
Content-Type: application/pdf; name="report.pdf"
Content-Disposition: attachment; filename="report.pdf"
Content-Transfer-Encoding: base64

{b64(PDF)}
--outer-1
Content-Type: image/png
Content-Disposition: inline; filename=logo.png
Content-Transfer-Encoding: base64

{b64(PNG)}
--outer-1--
epilogue text
""")

case("nested-alternative", f"""From: a@example.test
MIME-Version: 1.0
Content-Type: multipart/mixed;
 boundary="mixed"

--mixed
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

caf=C3=A9
--alt
Content-Type: text/html; charset=utf-8

<html><body>caf&eacute;</body></html>
--alt--

--mixed
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="data.bin"
Content-Transfer-Encoding: base64

{b64(bytes(range(48)))}
--mixed--
""")

case("rfc822-attachment", """From: a@example.test
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain

Forwarded message below.
--b1
Content-Type: message/rfc822
Content-Disposition: attachment; filename="fwd.eml"

From: c@example.test
Subject: inner
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b2"

--b2
Content-Type: text/plain

inner text
--b2
Content-Type: application/x-sh; name="run.sh"

#!/bin/sh
echo hi
--b2--
--b1--
""")

case("rfc2231-continuation", """From: a@example.test
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: application/octet-stream;
 name*0*=utf-8''%E2%82%AC%20price;
 name*1*=%20list;
 name*2=".txt"
Content-Disposition: attachment;
 filename*0*=utf-8''%E2%82%AC%20price;
 filename*1*=%20list%C3%A9;
 filename*2=".txt"

a,b
--b
Content-Type: text/plain
Content-Disposition: attachment; filename*=iso-8859-1'fr'r%E9sum%E9.txt

x
--b
Content-Type: text/plain
Content-Disposition: attachment; filename="legacy.txt"; filename*=UTF-8''modern%E2%9C%93.txt

y
--b--
""")

case("encoded-word-filenames", """From: a@example.test
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: application/pdf; name="=?UTF-8?B?UmVjaG51bmcgw4Rwcmls?= =?UTF-8?B?LnBkZg==?="
Content-Disposition: attachment; filename="=?UTF-8?B?UmVjaG51bmcgw4Rwcmls?= =?UTF-8?B?LnBkZg==?="

%PDF-1.4
--b
Content-Type: text/plain; name="=?iso-8859-1?Q?r=E9sum=E9_final?=.txt"
Content-Disposition: attachment; filename="=?windows-1252?q?=93quoted=94?=.txt"

z
--b
Content-Type: text/plain
Content-Disposition: attachment; filename="=?shift_jis?B?gqCCooKk?=.txt"

unknown charset kept raw
--b--
""")

case("exe-disguised-as-text", f"""From: a@example.test
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain

Please see the invoice.
--b
Content-Type: text/plain; name="invoice.txt"
Content-Disposition: attachment; filename="invoice.txt"
Content-Transfer-Encoding: base64

{b64(MZ)}
--b--
""")

zip_plain = make_zip([("readme.txt", b"hello\n"), ("tool.exe", MZ)], zipfile.ZIP_STORED)
docx = make_zip([("[Content_Types].xml", b"<?xml version='1.0'?><Types/>"), ("_rels/.rels", b"<Relationships/>"),
                 ("word/document.xml", b"<w:document/>")])
jar = make_zip([("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\r\nMain-Class: A\r\n"),
                ("A.class", b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + bytes(16))])
case("zip-docx-jar", f"""From: a@example.test
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="zz"

--zz
Content-Type: application/zip; name="files.zip"
Content-Transfer-Encoding: base64

{b64(zip_plain)}
--zz
Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document; name="letter.docx"
Content-Disposition: attachment; filename="letter.docx"
Content-Transfer-Encoding: base64

{b64(docx)}
--zz
Content-Type: application/octet-stream; name="app.jar"
Content-Transfer-Encoding: base64

{b64(jar)}
--zz--
""")

case("binary-types", "".join([
    "From: a@example.test\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"t\"\n\n",
    *[f"--t\nContent-Type: application/octet-stream; name=\"{n}\"\nContent-Transfer-Encoding: base64\n\n{b64(d)}\n"
      for n, d in [("a.elf", ELF), ("a.macho", MACHO), ("a.doc", OLE), ("a.rar", RAR), ("a.7z", SEVENZ), ("a.gz", GZ),
                   ("a.py", b"#!/usr/bin/env python3\nprint(1)\n"), ("a.sh", b"#!/bin/bash\necho\n"),
                   ("a.html", b"  <!DOCTYPE html><html></html>"), ("a.bin", bytes(range(256)))]],
    "--t--\n"]))

case("missing-close-boundary", """From: a@example.test
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="never-closed"

--never-closed
Content-Type: text/plain

first
--never-closed
Content-Type: text/plain

second, and then the message just ends
""")

case("outer-boundary-ends-inner", """From: a@example.test
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain

inner part without its close delimiter
--outer
Content-Type: text/plain

after
--outer--
""")

case("boundary-in-preamble", """From: a@example.test
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="pre"

preamble text
--pre--
--preX not a delimiter
--pre
Content-Type: text/plain

the real first part
--pre
Content-Type: text/plain

--pre-but-not-quite
second
--pre--
""")

case("bad-base64", """From: a@example.test
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

TVqQAAMAAAAE!!!AAAA//8AAL
gAAAAAAAAAQA==AAAAAAAAAAA
A
--b
Content-Type: text/plain
Content-Transfer-Encoding: quoted-printable

bad =ZZ escape and a lone =
--b--
""")

nest = ["From: a@example.test\nMIME-Version: 1.0\n"]
for i in range(200):
    nest.append(f"Content-Type: multipart/mixed; boundary=\"n{i}x\"\n\n--n{i}x\n")
nest.append("Content-Type: text/plain\n\ndeepest\n")
for i in reversed(range(200)):
    nest.append(f"--n{i}x--\n")
case("nesting-200", "".join(nest))

case("header-bomb", "From: a@example.test\n" + "".join(f"X-Bomb-{i}: {i}\n" for i in range(1200)) +
     "Content-Type: application/octet-stream\n\nafter the bomb\n")

case("empty", b"", crlf=False)

case("no-headers", """Hello world,
this message has no header at all.
""")

case("headers-only", b"From: a@example.test\r\nSubject: no body, no blank line", crlf=False)

case("lf-only", b"""From: a@example.test
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="lf"

--lf
Content-Type: text/plain

unix line ends
--lf
Content-Type: application/octet-stream; name="x.exe"
Content-Transfer-Encoding: base64

""" + base64.b64encode(MZ) + b"""
--lf--
""", crlf=False)

case("utf8-headers", """From: Jos\u00e9 <jose@example.test>
Subject: Gr\u00fc\u00dfe aus K\u00f6ln
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="u"

--u
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

K\u00f6ln
--u
Content-Type: application/pdf
Content-Disposition: attachment; filename="Pr\u00e4sentation \u65e5\u672c.pdf"

%PDF-1.5
--u
Content-Type: message/global

From: x@example.test
Subject: \u00e9t\u00e9

inner global message
--u--
""")

case("duplicate-content-type", f"""From: a@example.test
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="d"

--d
Content-Type: text/plain
Content-Type: application/x-msdownload; name="evil.exe"
Content-Transfer-Encoding: base64

{b64(MZ)}
--d--
""")

case("multipart-without-boundary", """From: a@example.test
MIME-Version: 1.0
Content-Type: multipart/mixed

--b
Content-Type: text/plain

no boundary parameter
--b--
""")

case("encoded-multipart", "From: a@example.test\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"e\"\n"
     "Content-Transfer-Encoding: base64\n\n" +
     b64(b"--e\r\nContent-Type: application/octet-stream\r\n\r\n" + MZ + b"\r\n--e--\r\n") + "\n")

case("digest", """From: a@example.test
MIME-Version: 1.0
Content-Type: multipart/digest; boundary="dg"

--dg

From: one@example.test
Subject: first

one
--dg
Content-Type: text/plain

explicit text
--dg--
""")

case("bad-content-type", """From: a@example.test
MIME-Version: 1.0
Content-Type: text; charset=utf-8
Content-Transfer-Encoding: x-uuencode
Content-Disposition: attachment; filename="a.txt"; filename="b.exe"

body
""")

case("part-without-blank-line", """From: a@example.test
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="h"

--h
Content-Type: text/plain
--h
this part starts with a body line
--h

no headers, blank line first
--h--
""")

os.makedirs(HERE, exist_ok=True)
for name, data in CASES.items():
    with open(os.path.join(HERE, name + ".eml"), "wb") as f:
        f.write(data)
print(f"wrote {len(CASES)} cases to {HERE}")
