// util/text.hpp — text helpers shared by the protocol code and every human-readable output.
// ASCII helpers take no locale (domain names, SMTP keywords, LDAP attribute names and
// fingerprints are ASCII). `display_escape` is the one gate between text a peer chose and
// a terminal, a log file or a file name.
#pragma once

#include <string>
#include <string_view>

namespace rampart::util {

// `s` with A–Z turned into a–z; every other byte unchanged.
inline std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// Appends `mark` and the byte `c` as two upper-case hex digits ("%2F", "+2B"): the byte
// escape of the spool's tokens, Maildir folder names and xtext.
inline void append_hex_escape(std::string& out, char mark, unsigned char c) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    out += mark;
    out += kHex[c >> 4];
    out += kHex[c & 15];
}

// True for a code point that must never reach a terminal or a log unescaped: C0 controls,
// DEL, C1 controls (U+0080–U+009F: U+009B is a one-character CSI), the bidi controls
// (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069) and the line and paragraph
// separators U+2028/U+2029.
bool is_unsafe_code_point(char32_t cp);

// Length of the well-formed UTF-8 sequence at the start of `s` (1–4) and its code point
// in `cp`; 0 if `s` does not start with one (overlong forms, surrogates and code points
// above U+10FFFF are ill-formed, RFC 3629 §4).
std::size_t utf8_sequence(std::string_view s, char32_t& cp);

// `s` made safe to show on a terminal or write to a log line. Printable ASCII and
// well-formed UTF-8 pass unchanged; every unsafe code point (is_unsafe_code_point) and
// every byte that is not part of well-formed UTF-8 is escaped: \t \n \r, \xHH for a
// byte (controls, ill-formed bytes), \uHHHH for an unsafe non-ASCII code point
// (\u202e, \u009b). A backslash becomes \\, so the escaped form is unambiguous: two
// different inputs never look alike.
std::string display_escape(std::string_view s);

}  // namespace rampart::util
