// mime/encoded_word.cpp — charset conversion, RFC 2047 and RFC 2231 decoding (see header).
#include "mime/encoded_word.hpp"

#include <array>
#include <cstdint>

#include "mime/transfer_decoder.hpp"
#include "util/text.hpp"

namespace rampart::mime {

namespace {

enum class Charset { Utf8, Ascii, Latin1, Latin9, Windows1252, Unknown };

Charset charset_of(std::string_view name) {
    std::string n = util::ascii_lower(name);
    if (n.empty() || n == "us-ascii" || n == "ascii" || n == "ansi_x3.4-1968" || n == "us") return Charset::Ascii;
    if (n == "utf-8" || n == "utf8") return Charset::Utf8;
    if (n == "iso-8859-1" || n == "iso8859-1" || n == "iso_8859-1" || n == "latin1" || n == "latin-1" ||
        n == "l1" || n == "iso-ir-100" || n == "cp819")
        return Charset::Latin1;
    if (n == "iso-8859-15" || n == "iso8859-15" || n == "iso_8859-15" || n == "latin-9" || n == "latin9")
        return Charset::Latin9;
    if (n == "windows-1252" || n == "cp1252" || n == "x-cp1252") return Charset::Windows1252;
    return Charset::Unknown;
}

// windows-1252 0x80–0x9F; the five undefined bytes map to the C1 control of the same value.
constexpr std::array<char16_t, 32> cp1252_high{
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

std::uint32_t latin9(unsigned char c) {
    switch (c) {
    case 0xA4: return 0x20AC;
    case 0xA6: return 0x0160;
    case 0xA8: return 0x0161;
    case 0xB4: return 0x017D;
    case 0xB8: return 0x017E;
    case 0xBC: return 0x0152;
    case 0xBD: return 0x0153;
    case 0xBE: return 0x0178;
    default: return c;
    }
}

void put_utf8(std::uint32_t cp, std::string& out) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// Length of the valid UTF-8 sequence at s[i], or 0 (RFC 3629: no overlongs, surrogates,
// or code points above U+10FFFF).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    unsigned char c = b(0);
    if (c < 0x80) return 1;
    std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || c > 0xF4 || i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k)
        if ((b(k) & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) > 0x9F) return 0;   // surrogates
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) > 0x8F) return 0;   // above U+10FFFF
    return n;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

}  // namespace

bool valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        std::size_t n = utf8_sequence(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

void append_charset(std::string_view charset, std::string_view bytes, std::size_t cap, DecodedText* out) {
    std::string& o = out->utf8;
    Charset cs = charset_of(charset);
    for (std::size_t i = 0; i < bytes.size();) {
        if (o.size() >= cap) {
            out->malformed = true;
            break;
        }
        unsigned char c = static_cast<unsigned char>(bytes[i]);
        if (cs == Charset::Unknown) {
            o += static_cast<char>(c);
            out->unknown_charset = true;
            ++i;
            continue;
        }
        if (c < 0x80) {
            o += static_cast<char>(c);
            ++i;
            continue;
        }
        switch (cs) {
        case Charset::Utf8:
        case Charset::Ascii: {   // 8-bit bytes in us-ascii text: RFC 6532 says UTF-8
            std::size_t n = utf8_sequence(bytes, i);
            if (n == 0) {
                put_utf8(0xFFFD, o);
                out->malformed = true;
                ++i;
            } else {
                if (cs == Charset::Ascii) out->malformed = true;
                o.append(bytes.substr(i, n));
                i += n;
            }
            continue;
        }
        case Charset::Latin1: put_utf8(c, o); break;
        case Charset::Latin9: put_utf8(latin9(c), o); break;
        case Charset::Windows1252: put_utf8(c < 0xA0 ? cp1252_high[c - 0x80] : c, o); break;
        case Charset::Unknown: break;
        }
        ++i;
    }
    if (o.size() > cap) {   // the last character crossed the cap: cut at a character boundary
        std::size_t n = cap;
        while (n > 0 && (static_cast<unsigned char>(o[n]) & 0xC0) == 0x80) --n;
        o.resize(n);
        out->malformed = true;
    }
}

std::string percent_decode(std::string_view s, bool* bad) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%') {
            int hi = i + 2 < s.size() ? hex_value(s[i + 1]) : -1;
            int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
            if (hi >= 0 && lo >= 0) {
                out += static_cast<char>(hi * 16 + lo);
                i += 2;
                continue;
            }
            if (bad) *bad = true;
        }
        out += s[i];
    }
    return out;
}

namespace {

struct Word {
    std::string_view charset;
    char encoding = 0;   // 'B' or 'Q'
    std::string_view text;
    std::size_t end = 0;   // index after "?="
};

// Parses "=?charset[*lang]?B|Q?text?=" at value[i]. Whitespace and '?' are not allowed in
// the text (RFC 2047 §5), which also bounds the scan to one word.
bool parse_word(std::string_view v, std::size_t i, Word* w) {
    if (v.substr(i, 2) != "=?") return false;
    std::size_t cs = i + 2;
    std::size_t q1 = v.find('?', cs);
    if (q1 == std::string_view::npos || q1 == cs || q1 + 2 >= v.size() || v[q1 + 2] != '?') return false;
    for (std::size_t k = cs; k < q1; ++k)
        if (v[k] == ' ' || v[k] == '\t' || v[k] == '=') return false;
    char enc = v[q1 + 1];
    if (enc == 'b') enc = 'B';
    if (enc == 'q') enc = 'Q';
    if (enc != 'B' && enc != 'Q') return false;
    std::size_t t = q1 + 3;
    std::size_t k = t;
    while (k < v.size() && v[k] != '?' && v[k] != ' ' && v[k] != '\t') ++k;
    if (k + 1 >= v.size() || v[k] != '?' || v[k + 1] != '=') return false;
    std::string_view charset = v.substr(cs, q1 - cs);
    if (auto star = charset.find('*'); star != std::string_view::npos) charset = charset.substr(0, star);  // RFC 2231 §5
    *w = Word{charset, enc, v.substr(t, k - t), k + 2};
    return true;
}

std::string word_bytes(const Word& w, bool* bad) {
    std::string out;
    if (w.encoding == 'B') {
        DecodeStatus st = decode_base64_to(w.text, out, w.text.size());
        if (st.bad) *bad = true;
        return out;
    }
    for (std::size_t i = 0; i < w.text.size(); ++i) {
        char c = w.text[i];
        if (c == '_') {
            out += ' ';
        } else if (c == '=' && i + 2 < w.text.size() && hex_value(w.text[i + 1]) >= 0 &&
                   hex_value(w.text[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(w.text[i + 1]) * 16 + hex_value(w.text[i + 2]));
            i += 2;
        } else {
            if (c == '=') *bad = true;
            out += c;
        }
    }
    return out;
}

}  // namespace

DecodedText decode_encoded_words(std::string_view v, std::size_t cap, std::string_view plain_charset) {
    DecodedText out;
    std::string pending;           // bytes of adjacent words in pending_charset
    std::string pending_charset;
    auto flush = [&] {
        if (!pending.empty()) append_charset(pending_charset, pending, cap, &out);
        pending.clear();
    };
    std::size_t i = 0;
    std::size_t plain_begin = 0;
    bool last_was_word = false;
    while (i < v.size() && out.utf8.size() < cap) {
        Word w;
        std::size_t next = v.find("=?", i);
        if (next == std::string_view::npos) break;
        if (!parse_word(v, next, &w)) {
            i = next + 2;
            continue;
        }
        std::string_view between = v.substr(plain_begin, next - plain_begin);
        bool only_space = between.find_first_not_of(" \t\r\n") == std::string_view::npos;
        if (!(last_was_word && only_space)) {
            flush();
            append_charset(plain_charset, between, cap, &out);
        }
        bool bad = false;
        std::string bytes = word_bytes(w, &bad);
        if (bad) out.malformed = true;
        if (util::ascii_lower(w.charset) != pending_charset) {
            flush();
            pending_charset = util::ascii_lower(w.charset);
        }
        pending += bytes;
        if (pending.size() > cap) pending.resize(cap);
        i = plain_begin = w.end;
        last_was_word = true;
    }
    flush();
    if (plain_begin < v.size() && out.utf8.size() < cap)
        append_charset(plain_charset, v.substr(plain_begin), cap, &out);
    return out;
}

}  // namespace rampart::mime
