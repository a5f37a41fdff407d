// smtp/reply.cpp — reply construction and wire format.
#include "smtp/reply.hpp"

#include "util/assert.hpp"

#include <algorithm>

namespace rampart::smtp {

std::string safe_reply_text(int code, std::string_view enhanced, std::string_view text) {
    // "250-" or "250 ", the enhanced code and a space, CRLF: what each line carries besides its text.
    std::size_t overhead = 4 + (enhanced.empty() ? 0 : enhanced.size() + 1) + 2;
    std::size_t line_max = (code == 334 ? kMaxSaslReplyLineOctets : kMaxReplyLineOctets) - overhead;
    std::string out;
    out.reserve(std::min(text.size(), kMaxReplyLines * (line_max + 1)));
    std::size_t lines = 0;
    while (true) {
        std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        if (line.size() > line_max) {
            std::size_t cut = line_max - 3;
            // Never split a UTF-8 sequence: back up over continuation bytes.
            while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
            line = line.substr(0, cut);
        }
        for (char c : line) {
            auto u = static_cast<unsigned char>(c);
            out += u < 0x20 || u == 0x7F ? '?' : c;
        }
        if (line.size() < text.substr(0, nl).size()) out += "...";
        if (nl == std::string_view::npos || ++lines == kMaxReplyLines) break;
        out += '\n';
        text.remove_prefix(nl + 1);
    }
    return out;
}

Reply::Reply(int c, std::string_view e, std::string_view t) : code(c), enhanced(e), text(safe_reply_text(c, e, t)) {
    RAMPART_ASSERT(code >= 200 && code <= 559);
    RAMPART_ASSERT(enhanced.empty() ||
                   (enhanced.size() >= 5 && enhanced.size() <= 12 && enhanced[0] == '0' + code / 100 && enhanced[1] == '.'));
}

std::string Reply::wire(bool with_enhanced) const {
    std::string out;
    std::string code_text = std::to_string(code);
    std::string_view rest = text;
    do {
        std::size_t nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        bool last = nl == std::string_view::npos;
        out += code_text;
        out += last ? ' ' : '-';
        if (with_enhanced && !enhanced.empty()) {
            out += enhanced;
            out += ' ';
        }
        out += line;
        out += "\r\n";
        if (last) break;
    } while (true);
    return out;
}

std::string Reply::summary() const {
    std::string out = std::to_string(code);
    if (!enhanced.empty()) out += " " + enhanced;
    std::string t = text;
    for (char& ch : t)
        if (ch == '\n') ch = ' ';
    out += " " + t;
    return out;
}

}  // namespace rampart::smtp
