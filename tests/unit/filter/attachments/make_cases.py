#!/usr/bin/env python3
"""Writes the attachment filter corpus tests/unit/filter/attachments/*.eml (CRLF line ends)
from the definitions below; deterministic, so re-running changes nothing. What each case
must give is asserted in tests/unit/filter/attachment_filter_test.cpp."""
import base64
import io
import os
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))

# A Windows PE header (what mime::sniff calls application/x-dosexec).
MZ = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00" + bytes(range(64))
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


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


def encrypted(zip_bytes):
    """Sets the 'encrypted' flag (bit 0) of every member in the local and central headers."""
    b = bytearray(zip_bytes)
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = b.find(sig)
        while i >= 0:
            b[i + off] |= 1
            i = b.find(sig, i + 4)
    return bytes(b)


def nested_zip(depth):
    data = make_zip([("a.txt", b"hello\n")])
    for level in range(depth - 1):
        data = make_zip([("level%d.zip" % level, data)])
    return data


def message(parts, subject="test"):
    out = ("From: a@example.test\nTo: b@example.test\nSubject: " + subject + "\nMIME-Version: 1.0\n"
           "Content-Type: multipart/mixed; boundary=\"outer\"\n\npreamble\n")
    out += "--outer\nContent-Type: text/plain; charset=utf-8\n\nHello, see the attachment.\n"
    for headers, body in parts:
        out += "--outer\n" + headers.strip("\n") + "\n\n" + body.rstrip("\n") + "\n"
    out += "--outer--\nepilogue\n"
    return out


def attachment(ctype, disposition, data):
    return ("Content-Type: " + ctype + "\nContent-Disposition: " + disposition + "\nContent-Transfer-Encoding: base64",
            b64(data))


CASES = {
    # MZ bytes behind a harmless name and a harmless declared type: only the sniffed type tells.
    "exe-as-txt": message([attachment("text/plain; name=\"readme.txt\"", "attachment; filename=\"readme.txt\"", MZ)]),
    "exe-as-pdf": message([attachment("application/pdf; name=\"invoice.pdf\"", "attachment; filename=\"invoice.pdf\"", MZ)]),
    # Names that only decoding reveals; the content is plain text, so only the name tells.
    "rfc2231-name": message([attachment("application/octet-stream", "attachment; filename*=UTF-8''evil%2Eexe",
                                        b"just text\n")]),
    "rfc2231-continued": message([attachment("application/octet-stream",
                                             "attachment; filename*0*=UTF-8''ev; filename*1=\"il.e\"; filename*2*=x%45",
                                             b"just text\n")]),
    "encoded-word-name": message([attachment("application/octet-stream; name=\"=?UTF-8?B?ZXZpbC5leGU=?=\"",
                                             "attachment", b"just text\n")]),
    "trailing-dot": message([attachment("application/octet-stream", "attachment; filename=\"evil.exe. \"",
                                        b"just text\n")]),
    "zip-exe": message([attachment("application/zip; name=\"docs.zip\"", "attachment; filename=\"docs.zip\"",
                                   make_zip([("notes.txt", b"hello\n"), ("readme.txt", MZ)]))]),
    "zip-zip-exe": message([attachment("application/zip", "attachment; filename=\"outer.zip\"",
                                       make_zip([("inner.zip", make_zip([("payload.bin", MZ)]))]))]),
    "zip-exe-name": message([attachment("application/zip", "attachment; filename=\"tools.zip\"",
                                        make_zip([("bin/setup.EXE", b"not really\n")], zipfile.ZIP_STORED))]),
    "encrypted-zip": message([attachment("application/zip", "attachment; filename=\"secret.zip\"",
                                         encrypted(make_zip([("a.txt", b"hello hello hello\n")], zipfile.ZIP_STORED)))]),
    # Zips inside zips six deep: past the lister's depth bound, so not inspected, so blocked.
    "zip-too-deep": message([attachment("application/zip", "attachment; filename=\"deep.zip\"", nested_zip(6))]),
    "clean-pdf": message([attachment("application/pdf; name=\"report.pdf\"", "attachment; filename=\"report.pdf\"", PDF)]),
    "clean-zip": message([attachment("application/zip", "attachment; filename=\"texts.zip\"",
                                     make_zip([("a.txt", b"hello\n"), ("b.pdf", PDF)]))]),
    "rfc822-exe": message([("Content-Type: message/rfc822\nContent-Disposition: attachment; filename=\"fwd.eml\"",
                            "From: c@example.test\nSubject: inner\nMIME-Version: 1.0\n"
                            "Content-Type: multipart/mixed; boundary=\"inner\"\n\n"
                            "--inner\nContent-Type: text/plain\n\ninner text\n"
                            "--inner\nContent-Type: application/octet-stream\n"
                            "Content-Disposition: attachment; filename=\"tool.dat\"\n"
                            "Content-Transfer-Encoding: base64\n\n" + b64(MZ) + "\n--inner--\n")]),
}


def main():
    for name, text in CASES.items():
        data = text.encode("utf-8").replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        with open(os.path.join(HERE, name + ".eml"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
