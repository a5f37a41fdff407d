#include "mime/sniff.hpp"

#include <gtest/gtest.h>

using namespace rampart::mime;
using namespace std::string_literals;

namespace {
struct Case {
    const char* label;
    std::string bytes;
    std::string_view mime;
    SniffKind kind;
};

std::string zip_local(std::string_view name, std::string_view data = "") {
    std::string h = "PK\x03\x04\x14\x00\x00\x00\x00\x00"s + std::string(8, '\0');
    auto le32 = [](std::size_t v) { return std::string{char(v), char(v >> 8), char(v >> 16), char(v >> 24)}; };
    auto le16 = [](std::size_t v) { return std::string{char(v), char(v >> 8)}; };
    h += le32(data.size()) + le32(data.size()) + le16(name.size()) + le16(0);
    return h + std::string(name) + std::string(data);
}

std::string at_offset(std::size_t off, std::string_view magic) { return std::string(off, '\0') + std::string(magic); }

class Sniff : public ::testing::TestWithParam<Case> {};
}  // namespace

TEST_P(Sniff, Recognises) {
    const Case& c = GetParam();
    SniffedType t = sniff(std::string_view(c.bytes));
    EXPECT_EQ(t.mime, c.mime) << c.label;
    EXPECT_EQ(t.kind, c.kind) << c.label;
}

INSTANTIATE_TEST_SUITE_P(
    Table, Sniff,
    ::testing::Values(
        Case{"pe", "MZ\x90\x00"s + std::string(60, '\0'), "application/x-dosexec", SniffKind::Executable},
        Case{"elf exec", "\x7f" "ELF\x02\x01\x01"s + std::string(9, '\0') + "\x02\x00"s, "application/x-executable", SniffKind::Executable},
        Case{"elf shared", "\x7f" "ELF\x02\x01\x01"s + std::string(9, '\0') + "\x03\x00"s, "application/x-sharedlib", SniffKind::Executable},
        Case{"mach-o 64", "\xcf\xfa\xed\xfe\x07\x00\x00\x01"s, "application/x-mach-binary", SniffKind::Executable},
        Case{"mach-o fat", "\xca\xfe\xba\xbe\x00\x00\x00\x02"s, "application/x-mach-binary", SniffKind::Executable},
        Case{"java class", "\xca\xfe\xba\xbe\x00\x00\x00\x34"s, "application/x-java-applet", SniffKind::Executable},
        Case{"lnk", "\x4c\x00\x00\x00\x01\x14\x02\x00\x00\x00"s, "application/x-ms-shortcut", SniffKind::Executable},
        Case{"zip", zip_local("a.txt", "hi"), "application/zip", SniffKind::Archive},
        Case{"empty zip", "PK\x05\x06"s + std::string(18, '\0'), "application/zip", SniffKind::Archive},
        Case{"docx", zip_local("[Content_Types].xml", "<x/>") + zip_local("_rels/.rels") + zip_local("word/document.xml"),
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document", SniffKind::Document},
        Case{"xlsx", zip_local("[Content_Types].xml") + zip_local("xl/workbook.xml"),
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", SniffKind::Document},
        Case{"pptx", zip_local("[Content_Types].xml") + zip_local("ppt/presentation.xml"),
             "application/vnd.openxmlformats-officedocument.presentationml.presentation", SniffKind::Document},
        Case{"odt", zip_local("mimetype", "application/vnd.oasis.opendocument.text"), "application/vnd.oasis.opendocument.text", SniffKind::Document},
        Case{"jar", zip_local("META-INF/") + zip_local("META-INF/MANIFEST.MF", "Manifest-Version: 1.0"), "application/java-archive", SniffKind::Executable},
        Case{"apk", zip_local("AndroidManifest.xml"), "application/vnd.android.package-archive", SniffKind::Executable},
        Case{"rar4", "Rar!\x1a\x07\x00"s, "application/vnd.rar", SniffKind::Archive},
        Case{"rar5", "Rar!\x1a\x07\x01\x00"s, "application/vnd.rar", SniffKind::Archive},
        Case{"7z", "7z\xbc\xaf\x27\x1c\x00\x04"s, "application/x-7z-compressed", SniffKind::Archive},
        Case{"gzip", "\x1f\x8b\x08\x00"s, "application/gzip", SniffKind::Archive},
        Case{"xz", "\xfd" "7zXZ\x00"s, "application/x-xz", SniffKind::Archive},
        Case{"cab", "MSCF\x00\x00\x00\x00"s, "application/vnd.ms-cab-compressed", SniffKind::Archive},
        Case{"tar", at_offset(257, "ustar"), "application/x-tar", SniffKind::Archive},
        Case{"iso", at_offset(32769, "CD001"), "application/x-iso9660-image", SniffKind::Archive},
        Case{"pdf", "%PDF-1.7\n"s, "application/pdf", SniffKind::Document},
        Case{"pdf after junk", std::string(500, 'x') + "%PDF-1.4", "application/pdf", SniffKind::Document},
        Case{"ole", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"s + std::string(8, '\0'), "application/x-ole-storage", SniffKind::Document},
        Case{"rtf", "{\\rtf1\\ansi"s, "text/rtf", SniffKind::Document},
        Case{"sh", "#!/bin/sh\necho"s, "text/x-shellscript", SniffKind::Script},
        Case{"bash env", "#!/usr/bin/env bash\n"s, "text/x-shellscript", SniffKind::Script},
        Case{"python", "#!/usr/bin/python3\n"s, "text/x-python", SniffKind::Script},
        Case{"other script", "#!/usr/bin/tclsh8\n"s, "text/x-script", SniffKind::Script},
        Case{"png", "\x89PNG\r\n\x1a\n"s, "image/png", SniffKind::Image},
        Case{"jpeg", "\xff\xd8\xff\xe0"s, "image/jpeg", SniffKind::Image},
        Case{"html", "\xef\xbb\xbf\r\n <!DOCTYPE HTML>"s, "text/html", SniffKind::Text},
        Case{"xml", "<?xml version='1.0'?>"s, "text/xml", SniffKind::Text},
        Case{"text", "Hello\r\nworld\t\f"s, "text/plain", SniffKind::Text},
        Case{"utf8 text", "Gr\xc3\xbc\xc3\x9f" "e"s, "text/plain", SniffKind::Text},
        Case{"binary", "\x00\x01\x02\x03"s, "application/octet-stream", SniffKind::Unknown},
        Case{"empty", ""s, "application/x-empty", SniffKind::Empty}),
    [](const ::testing::TestParamInfo<Case>& i) {
        std::string n = i.param.label;
        for (char& c : n)
            if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
        return n;
    });

TEST(SniffBounds, TruncatedHeadersStayInside) {
    // Every prefix of a docx-like zip: no read outside the span (ASan would see it).
    std::string z = zip_local("[Content_Types].xml", "<x/>") + zip_local("word/document.xml", "<w/>");
    for (std::size_t n = 0; n <= z.size(); ++n) {
        std::string cut = z.substr(0, n);
        std::unique_ptr<unsigned char[]> exact(new unsigned char[n + 1]);
        std::copy(cut.begin(), cut.end(), exact.get());
        (void)sniff(std::span<const unsigned char>(exact.get(), n));
    }
}
