// mime/sniff.cpp — magic numbers (see header). Signatures are from the formats' own
// specifications (PE/COFF, ELF, Mach-O, APPNOTE.TXT, RAR 4/5, 7z, RFC 1952, ISO 32000,
// MS-CFB, ECMA-119, PNG, JFIF, GIF89a).
#include "mime/sniff.hpp"

#include <array>
#include <cstdint>
#include <cstring>

#include "mime/encoded_word.hpp"

namespace rampart::mime {

namespace {

using Bytes = std::span<const unsigned char>;

bool at(Bytes b, std::size_t off, std::string_view magic) {
    return b.size() >= off + magic.size() && std::memcmp(b.data() + off, magic.data(), magic.size()) == 0;
}

std::uint16_t le16(Bytes b, std::size_t off) { return static_cast<std::uint16_t>(b[off] | (b[off + 1] << 8)); }
std::uint32_t le32(Bytes b, std::size_t off) {
    return static_cast<std::uint32_t>(b[off]) | (static_cast<std::uint32_t>(b[off + 1]) << 8) |
           (static_cast<std::uint32_t>(b[off + 2]) << 16) | (static_cast<std::uint32_t>(b[off + 3]) << 24);
}
std::uint32_t be32(Bytes b, std::size_t off) {
    return (static_cast<std::uint32_t>(b[off]) << 24) | (static_cast<std::uint32_t>(b[off + 1]) << 16) |
           (static_cast<std::uint32_t>(b[off + 2]) << 8) | static_cast<std::uint32_t>(b[off + 3]);
}

struct Magic {
    std::size_t offset;
    std::string_view bytes;
    SniffedType type;
};

using namespace std::string_view_literals;

// Checked in order; the first match wins. Zip, ELF, CAFEBABE, #!, PDF and text need more
// than a prefix and are decided in code below.
const std::array<Magic, 27> magic_table{{
    {0, "MZ"sv, {"application/x-dosexec", SniffKind::Executable}},
    {0, "\xFE\xED\xFA\xCE"sv, {"application/x-mach-binary", SniffKind::Executable}},
    {0, "\xFE\xED\xFA\xCF"sv, {"application/x-mach-binary", SniffKind::Executable}},
    {0, "\xCE\xFA\xED\xFE"sv, {"application/x-mach-binary", SniffKind::Executable}},
    {0, "\xCF\xFA\xED\xFE"sv, {"application/x-mach-binary", SniffKind::Executable}},
    {0, "\x4C\x00\x00\x00\x01\x14\x02\x00"sv, {"application/x-ms-shortcut", SniffKind::Executable}},
    {0, "Rar!\x1A\x07\x00"sv, {"application/vnd.rar", SniffKind::Archive}},
    {0, "Rar!\x1A\x07\x01\x00"sv, {"application/vnd.rar", SniffKind::Archive}},
    {0, "7z\xBC\xAF\x27\x1C"sv, {"application/x-7z-compressed", SniffKind::Archive}},
    {0, "\x1F\x8B"sv, {"application/gzip", SniffKind::Archive}},
    {0, "BZh"sv, {"application/x-bzip2", SniffKind::Archive}},
    {0, "\xFD" "7zXZ\x00"sv, {"application/x-xz", SniffKind::Archive}},
    {0, "\x28\xB5\x2F\xFD"sv, {"application/zstd", SniffKind::Archive}},
    {0, "MSCF\x00\x00\x00\x00"sv, {"application/vnd.ms-cab-compressed", SniffKind::Archive}},
    {0, "ITSF"sv, {"application/vnd.ms-htmlhelp", SniffKind::Executable}},
    {257, "ustar"sv, {"application/x-tar", SniffKind::Archive}},
    {32769, "CD001"sv, {"application/x-iso9660-image", SniffKind::Archive}},
    {0, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"sv, {"application/x-ole-storage", SniffKind::Document}},
    {0, "{\\rtf"sv, {"text/rtf", SniffKind::Document}},
    {0, "\x89PNG\r\n\x1A\n"sv, {"image/png", SniffKind::Image}},
    {0, "\xFF\xD8\xFF"sv, {"image/jpeg", SniffKind::Image}},
    {0, "GIF87a"sv, {"image/gif", SniffKind::Image}},
    {0, "GIF89a"sv, {"image/gif", SniffKind::Image}},
    {0, "II*\x00"sv, {"image/tiff", SniffKind::Image}},
    {0, "MM\x00*"sv, {"image/tiff", SniffKind::Image}},
    {0, "ID3"sv, {"audio/mpeg", SniffKind::Media}},
    {0, "OggS"sv, {"audio/ogg", SniffKind::Media}},
}};

SniffedType elf(Bytes b) {
    if (b.size() < 18) return {"application/x-executable", SniffKind::Executable};
    std::uint16_t type = b[5] == 2 ? static_cast<std::uint16_t>((b[16] << 8) | b[17]) : le16(b, 16);
    switch (type) {
    case 1: return {"application/x-object", SniffKind::Executable};
    case 3: return {"application/x-sharedlib", SniffKind::Executable};
    case 4: return {"application/x-coredump", SniffKind::Executable};
    default: return {"application/x-executable", SniffKind::Executable};
    }
}

// CAFEBABE: a Mach-O universal binary has a small architecture count where a Java class
// file has its version (major >= 45) — libmagic draws the same line.
SniffedType cafebabe(Bytes b) {
    if (b.size() >= 8 && be32(b, 4) < 30) return {"application/x-mach-binary", SniffKind::Executable};
    return {"application/x-java-applet", SniffKind::Executable};
}

bool name_is(std::string_view name, std::string_view want) { return name == want; }
bool name_starts(std::string_view name, std::string_view prefix) { return name.substr(0, prefix.size()) == prefix; }

// Walks the local file headers (APPNOTE 4.3.7) that lie inside the window and decides the
// zip's kind by member names: OOXML by [Content_Types].xml plus word/, xl/ or ppt/; ODF by
// its stored "mimetype" first member; jar by META-INF/; apk by AndroidManifest.xml.
SniffedType zip(Bytes b) {
    bool content_types = false, meta_inf = false;
    std::size_t pos = 0;
    for (int members = 0; members < 256 && at(b, pos, "PK\x03\x04"sv) && pos + 30 <= b.size(); ++members) {
        std::uint16_t flags = le16(b, pos + 6);
        std::uint16_t method = le16(b, pos + 8);
        std::uint32_t csize = le32(b, pos + 18);
        std::uint16_t name_len = le16(b, pos + 26);
        std::uint16_t extra_len = le16(b, pos + 28);
        std::size_t data = pos + 30 + name_len + extra_len;
        if (pos + 30 + name_len > b.size()) break;
        std::string_view name(reinterpret_cast<const char*>(b.data() + pos + 30), name_len);
        if (members == 0 && name_is(name, "mimetype") && method == 0 && data + csize <= b.size()) {
            std::string_view mt(reinterpret_cast<const char*>(b.data() + data), csize);
            if (name_starts(mt, "application/vnd.oasis.opendocument.text")) return {"application/vnd.oasis.opendocument.text", SniffKind::Document};
            if (name_starts(mt, "application/vnd.oasis.opendocument.spreadsheet")) return {"application/vnd.oasis.opendocument.spreadsheet", SniffKind::Document};
            if (name_starts(mt, "application/vnd.oasis.opendocument.presentation")) return {"application/vnd.oasis.opendocument.presentation", SniffKind::Document};
            if (name_starts(mt, "application/epub+zip")) return {"application/epub+zip", SniffKind::Document};
        }
        if (name_is(name, "[Content_Types].xml")) content_types = true;
        if (name_starts(name, "META-INF/")) meta_inf = true;
        if (name_is(name, "AndroidManifest.xml")) return {"application/vnd.android.package-archive", SniffKind::Executable};
        if (content_types) {
            if (name_starts(name, "word/")) return {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", SniffKind::Document};
            if (name_starts(name, "xl/")) return {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", SniffKind::Document};
            if (name_starts(name, "ppt/")) return {"application/vnd.openxmlformats-officedocument.presentationml.presentation", SniffKind::Document};
        }
        if (flags & 0x08) break;   // sizes in a data descriptor after the data: cannot skip
        pos = data + csize;
        if (pos < data) break;
    }
    if (meta_inf) return {"application/java-archive", SniffKind::Executable};
    return {"application/zip", SniffKind::Archive};
}

// The interpreter's base name ("/usr/bin/env python3" → "python3") decides the type.
SniffedType shebang(Bytes b) {
    std::size_t end = 2;
    while (end < b.size() && end < 256 && b[end] != '\n' && b[end] != '\r') ++end;
    std::string_view line(reinterpret_cast<const char*>(b.data()) + 2, end - 2);
    auto next_word = [&line]() {
        std::size_t s = line.find_first_not_of(" \t");
        if (s == std::string_view::npos) return std::string_view{};
        std::size_t e = line.find_first_of(" \t", s);
        std::string_view w = line.substr(s, e == std::string_view::npos ? std::string_view::npos : e - s);
        line.remove_prefix(e == std::string_view::npos ? line.size() : e);
        return w;
    };
    std::string_view prog = next_word();
    auto base = [](std::string_view w) { return w.substr(w.find_last_of('/') == std::string_view::npos ? 0 : w.find_last_of('/') + 1); };
    std::string_view name = base(prog);
    if (name == "env") {
        name = next_word();
        while (!name.empty() && name[0] == '-') name = next_word();   // env -S ...
        name = base(name);
    }
    auto starts = [&](std::string_view p) { return name.substr(0, p.size()) == p; };
    if (starts("python")) return {"text/x-python", SniffKind::Script};
    if (starts("perl")) return {"text/x-perl", SniffKind::Script};
    if (starts("ruby")) return {"text/x-ruby", SniffKind::Script};
    if (starts("node")) return {"application/javascript", SniffKind::Script};
    if (starts("php")) return {"text/x-php", SniffKind::Script};
    if (name == "sh" || name == "bash" || name == "dash" || name == "zsh" || name == "ksh" || name == "csh" ||
        name == "tcsh" || name == "ash" || name == "mksh")
        return {"text/x-shellscript", SniffKind::Script};
    return {"text/x-script", SniffKind::Script};
}

bool starts_ci(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != prefix[i]) return false;
    }
    return true;
}

}  // namespace

SniffedType sniff(std::span<const unsigned char> b) {
    if (b.empty()) return {"application/x-empty", SniffKind::Empty};
    if (at(b, 0, "\x7F" "ELF"sv)) return elf(b);
    if (at(b, 0, "\xCA\xFE\xBA\xBE"sv)) return cafebabe(b);
    if (at(b, 0, "PK\x03\x04"sv) || at(b, 0, "PK\x05\x06"sv) || at(b, 0, "PK\x07\x08"sv)) return zip(b);
    for (const Magic& m : magic_table)
        if (at(b, m.offset, m.bytes)) return m.type;
    if (at(b, 0, "#!"sv)) return shebang(b);
    // Readers accept "%PDF-" anywhere in the first KiB (ISO 32000 Annex H), so do we.
    std::string_view head(reinterpret_cast<const char*>(b.data()), b.size() < 1024 ? b.size() : 1024);
    if (head.find("%PDF-") != std::string_view::npos) return {"application/pdf", SniffKind::Document};
    if (at(b, 0, "RIFF"sv) && at(b, 8, "WEBP"sv)) return {"image/webp", SniffKind::Image};
    if (at(b, 0, "RIFF"sv) && at(b, 8, "WAVE"sv)) return {"audio/x-wav", SniffKind::Media};
    // Text: skip a BOM and leading space, then HTML/XML, else plain text if no control bytes.
    std::size_t i = at(b, 0, "\xEF\xBB\xBF"sv) ? 3 : 0;
    while (i < b.size() && i < 512 && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')) ++i;
    std::string_view rest(reinterpret_cast<const char*>(b.data() + i), b.size() - i);
    if (starts_ci(rest, "<!doctype html") || starts_ci(rest, "<html") || starts_ci(rest, "<head") ||
        starts_ci(rest, "<script") || starts_ci(rest, "<body"))
        return {"text/html", SniffKind::Text};
    if (starts_ci(rest, "<?xml")) return {"text/xml", SniffKind::Text};
    std::size_t n = b.size() < 8192 ? b.size() : 8192;
    for (std::size_t k = 0; k < n; ++k) {
        unsigned char c = b[k];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1B) return {"application/octet-stream", SniffKind::Unknown};
        if (c == 0x7F) return {"application/octet-stream", SniffKind::Unknown};
    }
    // 8-bit text: UTF-8 or a single-byte charset; either way a user reads it as text. A
    // sequence cut by the window's end is left out of the check.
    std::size_t whole = n;
    if (n < b.size()) {
        std::size_t back = 0;
        while (whole > 0 && back < 3 && (b[whole - 1] & 0xC0) == 0x80) --whole, ++back;
        if (whole > 0 && b[whole - 1] >= 0xC0) --whole;
    }
    std::string_view text(reinterpret_cast<const char*>(b.data()), whole);
    if (!valid_utf8(text)) {
        // Mostly printable Latin-1 still counts as text.
        std::size_t high = 0;
        for (unsigned char c : text) high += c >= 0x80;
        if (high * 4 > whole) return {"application/octet-stream", SniffKind::Unknown};
    }
    return {"text/plain", SniffKind::Text};
}

}  // namespace rampart::mime
