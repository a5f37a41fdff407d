// mime/structure.cpp — names of flags, encodings and kinds; the text dump of a Structure
// (the golden corpus format, also handy in logs and explain output).
#include "mime/structure.hpp"

#include "mime/encoded_word.hpp"

#include <array>
#include <cstdio>

namespace rampart::mime {

namespace {
struct FlagText {
    Flag flag;
    std::string_view name;
    std::string_view reason;
};
constexpr std::array<FlagText, 21> flag_table{{
    {Flag::BareLineEnd, "bare-line-end", "bare LF line ends in MIME structure"},
    {Flag::HeaderTooLong, "header-too-long", "MIME header block too long"},
    {Flag::TooManyHeaders, "too-many-headers", "too many header fields"},
    {Flag::HeaderSyntax, "header-syntax", "malformed header block"},
    {Flag::DuplicateField, "duplicate-field", "duplicate MIME header field"},
    {Flag::BadContentType, "bad-content-type", "malformed Content-Type"},
    {Flag::MissingBoundary, "missing-boundary", "multipart without boundary"},
    {Flag::BadBoundary, "bad-boundary", "invalid multipart boundary"},
    {Flag::NoParts, "no-parts", "multipart without parts"},
    {Flag::MissingCloseBoundary, "missing-close-boundary", "multipart without closing boundary"},
    {Flag::BoundaryInPreamble, "boundary-in-preamble", "boundary in multipart preamble"},
    {Flag::BoundaryLikeLine, "boundary-like-line", "ambiguous multipart boundary line"},
    {Flag::EncodedComposite, "encoded-composite", "encoded multipart or message part"},
    {Flag::UnknownEncoding, "unknown-encoding", "unknown Content-Transfer-Encoding"},
    {Flag::BadBase64, "bad-base64", "invalid base64 content"},
    {Flag::BadQuotedPrintable, "bad-quoted-printable", "invalid quoted-printable content"},
    {Flag::TooDeep, "too-deep", "MIME nesting too deep"},
    {Flag::TooManyParts, "too-many-parts", "too many MIME parts"},
    {Flag::BadParameter, "bad-parameter", "malformed MIME parameter"},
    {Flag::UnknownCharset, "unknown-charset", "unknown charset in file name"},
    {Flag::NameTooLong, "name-too-long", "file name too long to check"},
}};
}  // namespace

std::string_view flag_name(Flag f) {
    for (const auto& t : flag_table)
        if (t.flag == f) return t.name;
    return "?";
}

std::string_view flag_reason(Flag f) {
    for (const auto& t : flag_table)
        if (t.flag == f) return t.reason;
    return "malformed MIME";
}

std::string flag_names(Flags f) {
    std::string out;
    for (const auto& t : flag_table) {
        if (!f.has(t.flag)) continue;
        if (!out.empty()) out += ',';
        out += t.name;
    }
    return out.empty() ? "-" : out;
}

std::string_view first_reason(Flags f) {
    for (const auto& t : flag_table)
        if (f.has(t.flag) && (static_cast<std::uint32_t>(t.flag) & notice_flags) == 0) return t.reason;
    return {};
}

std::string_view encoding_name(Encoding e) {
    switch (e) {
    case Encoding::SevenBit: return "7bit";
    case Encoding::EightBit: return "8bit";
    case Encoding::Binary: return "binary";
    case Encoding::QuotedPrintable: return "quoted-printable";
    case Encoding::Base64: return "base64";
    case Encoding::Unknown: return "unknown";
    }
    return "unknown";
}

std::string_view sniff_kind_name(SniffKind k) {
    switch (k) {
    case SniffKind::Unknown: return "unknown";
    case SniffKind::Empty: return "empty";
    case SniffKind::Text: return "text";
    case SniffKind::Executable: return "executable";
    case SniffKind::Script: return "script";
    case SniffKind::Archive: return "archive";
    case SniffKind::Document: return "document";
    case SniffKind::Image: return "image";
    case SniffKind::Media: return "media";
    }
    return "unknown";
}

std::string_view ContentType::param(std::string_view name) const {
    for (const Param& p : params)
        if (p.name == name) return p.value;
    return {};
}

namespace {
// Quoted for the dump: printable ASCII and valid UTF-8 as is, other bytes as \xNN.
std::string quoted(std::string_view s) {
    std::string out = "\"";
    const bool utf8 = valid_utf8(s);   // else 8-bit bytes are shown escaped too
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\' || (c >= 0x80 && !utf8)) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}
}  // namespace

std::string dump(const Structure& s) {
    std::string out;
    for (std::size_t i = 0; i < s.parts.size(); ++i) {
        const Part& p = s.parts[i];
        out.append(p.depth * 2, ' ');
        out += '#' + std::to_string(i) + ' ' + p.content_type.mime_type();
        if (!p.content_type.declared) out += "(default)";
        if (p.is_multipart()) {
            std::string_view b = p.content_type.param("boundary");
            if (!b.empty()) out += " boundary=" + quoted(b);
        }
        out += " cte=" + std::string(encoding_name(p.encoding));
        if (!p.disposition.empty()) out += " disposition=" + p.disposition;
        if (!p.filename.empty()) out += " filename=" + quoted(p.filename);
        if (!p.name.empty()) out += " name=" + quoted(p.name);
        out += " header=" + std::to_string(p.header_begin) + '+' + std::to_string(p.header_end - p.header_begin);
        out += " body=" + std::to_string(p.body_begin) + '+' + std::to_string(p.body_end - p.body_begin);
        if (p.is_leaf()) out += " sniff=" + std::string(p.sniffed.mime);
        else out += " children=" + std::to_string(p.children);
        if (!p.flags.empty()) out += " flags=" + flag_names(p.flags);
        out += '\n';
    }
    out += "message parts=" + std::to_string(s.parts.size()) + " flags=" + flag_names(s.flags) +
           (s.malformed() ? " malformed" : "") + '\n';
    return out;
}

}  // namespace rampart::mime
