// mime/structure.hpp — the value the MIME parser returns: a flat list of parts (a tree by
// parent index and depth) holding byte offsets into the message, never copies of it.
// Trust: describes hostile input; every field is bounded by Limits (strings by
// max_param_bytes, the list by max_parts), so a Structure's size does not grow with the
// message beyond limits. Offsets are into the exact string_view given to parse().
// Pure: no I/O, no logging (STYLE.md §2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::mime {

// What the parser refuses to take on trust. Every limit, once hit, sets a Flag: the
// structure stays usable, the message counts as malformed.
struct Limits {
    std::size_t max_depth = 32;              // deeper multiparts/messages are opaque leaves (TooDeep)
    std::size_t max_parts = 20000;           // beyond: not recorded (TooManyParts)
    std::size_t max_header_bytes = 256 * 1024;  // per part; fields past this are not read
    std::size_t max_headers = 1000;          // fields per part; more are not read
    std::size_t max_params = 64;             // parameters per Content-Type/-Disposition
    std::size_t max_param_bytes = 4096;      // a decoded parameter value (filenames) is cut here
    std::size_t sniff_bytes = 64 * 1024;     // decoded bytes of each leaf given to sniff()
    bool validate_encodings = true;          // decode every leaf once to flag bad base64/QP
};

// Why a part (or the message) is malformed. Each flag has a stable name (flag_name) used
// in the golden corpus and in reasons given to clients.
enum class Flag : std::uint32_t {
    BareLineEnd = 1u << 0,          // LF without CR (parsed as a line end anyway)
    HeaderTooLong = 1u << 1,        // header block over max_header_bytes
    TooManyHeaders = 1u << 2,       // more than max_headers fields
    HeaderSyntax = 1u << 3,         // a header line that is no field, or no blank line after the header
    DuplicateField = 1u << 4,       // Content-Type, -Transfer-Encoding or -Disposition twice
    BadContentType = 1u << 5,       // unparseable Content-Type (RFC 2045 §5.2 default used)
    MissingBoundary = 1u << 6,      // multipart without boundary parameter (opaque leaf)
    BadBoundary = 1u << 7,          // boundary over 70 characters or with forbidden characters
    NoParts = 1u << 8,              // multipart body without any delimiter line
    MissingCloseBoundary = 1u << 9, // multipart ended by end of input or an outer boundary
    BoundaryInPreamble = 1u << 10,  // a close delimiter or boundary-like line before the first part
    BoundaryLikeLine = 1u << 11,    // "--boundary" followed by other text: not a delimiter (RFC 2046 §5.1.1)
    EncodedComposite = 1u << 12,    // multipart or message with base64/QP encoding (opaque leaf)
    UnknownEncoding = 1u << 13,     // Content-Transfer-Encoding not in RFC 2045 (decoded as binary)
    BadBase64 = 1u << 14,           // characters outside the alphabet, data after padding, lone bits
    BadQuotedPrintable = 1u << 15,  // '=' not followed by two hex digits or a line end
    TooDeep = 1u << 16,             // nesting over max_depth
    TooManyParts = 1u << 17,        // over max_parts
    BadParameter = 1u << 18,        // duplicate parameter, broken RFC 2231 continuation or encoded word
    UnknownCharset = 1u << 19,      // notice only: a filename in a charset we cannot convert (kept raw)
    NameTooLong = 1u << 20,         // a name or filename parameter over max_param_bytes (kept cut)
};
inline constexpr std::uint32_t notice_flags = static_cast<std::uint32_t>(Flag::UnknownCharset);

struct Flags {
    std::uint32_t bits = 0;
    void set(Flag f) { bits |= static_cast<std::uint32_t>(f); }
    bool has(Flag f) const { return (bits & static_cast<std::uint32_t>(f)) != 0; }
    // Any flag other than the notices: the message is malformed (a filter may answer 554 5.6.0).
    bool malformed() const { return (bits & ~notice_flags) != 0; }
    bool empty() const { return bits == 0; }
};

std::string_view flag_name(Flag f);              // "missing-close-boundary"
std::string_view flag_reason(Flag f);            // "multipart without closing boundary"
std::string flag_names(Flags f);                 // "bad-base64,too-deep" or "-"
// The reason of the first malformed flag (in enum order), for a client reply; "" if none.
std::string_view first_reason(Flags f);

enum class Encoding : std::uint8_t { SevenBit, EightBit, Binary, QuotedPrintable, Base64, Unknown };
std::string_view encoding_name(Encoding e);      // "7bit", "base64", ... "unknown"
// Identity encodings: the body is the content (7bit, 8bit, binary; unknown is read as binary).
inline bool is_identity(Encoding e) {
    return e != Encoding::QuotedPrintable && e != Encoding::Base64;
}

struct Param {
    std::string name;    // lower-cased, RFC 2231 section/extension markers removed
    std::string value;   // decoded to UTF-8 where the charset is known, at most max_param_bytes
};

struct ContentType {
    std::string type = "text";      // lower-cased
    std::string subtype = "plain";  // lower-cased
    std::vector<Param> params;
    bool declared = false;          // false: absent or unparseable, the RFC 2045 default applies
    // The parameter's value or "" (names are compared lower-cased).
    std::string_view param(std::string_view name) const;
    std::string mime_type() const { return type + "/" + subtype; }
};

enum class SniffKind : std::uint8_t { Unknown, Empty, Text, Executable, Script, Archive, Document, Image, Media };
std::string_view sniff_kind_name(SniffKind k);

struct SniffedType {
    std::string_view mime = "application/octet-stream";   // a static string
    SniffKind kind = SniffKind::Unknown;
};

inline constexpr std::size_t no_parent = static_cast<std::size_t>(-1);

// One MIME entity. Offsets satisfy header_begin <= header_end <= body_begin <= body_end
// <= input.size(); delimiter_begin <= header_begin.
struct Part {
    std::size_t parent = no_parent;   // index into Structure::parts, parents come first
    std::size_t depth = 0;            // 0: the message itself
    std::size_t children = 0;         // direct children recorded
    std::size_t delimiter_begin = 0;  // children of a multipart: the line end before "--boundary"
    std::size_t header_begin = 0;     // first header line
    std::size_t header_end = 0;       // end of the last header line (its line end included)
    std::size_t body_begin = 0;       // after the blank line
    std::size_t body_end = 0;         // before the line end that starts the next delimiter
    ContentType content_type;
    Encoding encoding = Encoding::SevenBit;
    std::string disposition;          // lower-cased ("attachment", "inline") or ""
    std::string filename;             // Content-Disposition filename (UTF-8 where known)
    std::string name;                 // Content-Type name (legacy; may differ from filename)
    SniffedType sniffed;              // leaves only: the type of the first decoded bytes
    Flags flags;

    bool is_leaf() const { return children == 0; }
    bool is_multipart() const { return content_type.type == "multipart"; }
    // The file name a user would see: filename, else name.
    const std::string& display_name() const { return filename.empty() ? name : filename; }
};

struct Structure {
    std::vector<Part> parts;   // parts[0] is the message; never empty after parse()
    Flags flags;               // union of every part's flags
    bool malformed() const { return flags.malformed(); }
};

// One line per part (indented by depth) and a summary line; the golden corpus format.
std::string dump(const Structure& s);

}  // namespace rampart::mime
