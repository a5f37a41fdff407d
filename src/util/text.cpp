// util/text.cpp — display escaping (util/text.hpp). Pure.
#include "util/text.hpp"

#include <cstdio>

namespace rampart::util {

bool is_unsafe_code_point(char32_t cp) {
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
           (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

std::size_t utf8_sequence(std::string_view s, char32_t& cp) {
    if (s.empty()) return 0;
    auto b = [&s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    unsigned char c = b(0);
    if (c < 0x80) {
        cp = c;
        return 1;
    }
    std::size_t len;
    char32_t min;
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07, min = 0x10000;
    else return 0;
    if (s.size() < len) return 0;
    for (std::size_t i = 1; i < len; ++i) {
        if ((b(i) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b(i) & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

std::string display_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    char buf[12];
    while (!s.empty()) {
        char32_t cp = 0;
        std::size_t len = utf8_sequence(s, cp);
        if (len == 0) {   // not UTF-8: show the byte
            std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(s.front()));
            out += buf;
            s.remove_prefix(1);
            continue;
        }
        if (cp == '\\') out += "\\\\";
        else if (cp == '\t') out += "\\t";
        else if (cp == '\n') out += "\\n";
        else if (cp == '\r') out += "\\r";
        else if (cp < 0x80 && is_unsafe_code_point(cp)) {
            std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(cp));
            out += buf;
        } else if (is_unsafe_code_point(cp)) {
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
            out += buf;
        } else {
            out.append(s.substr(0, len));
        }
        s.remove_prefix(len);
    }
    return out;
}

}  // namespace rampart::util
