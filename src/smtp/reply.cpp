// smtp/reply.cpp — reply construction and wire format.
#include "smtp/reply.hpp"

#include "util/assert.hpp"

namespace rampart::smtp {

Reply::Reply(int c, std::string_view e, std::string_view t) : code(c), enhanced(e), text(t) {
    RAMPART_ASSERT(code >= 200 && code <= 559);
    RAMPART_ASSERT(enhanced.empty() ||
                   (enhanced.size() >= 5 && enhanced[0] == '0' + code / 100 && enhanced[1] == '.'));
    RAMPART_ASSERT(text.size() < 4000);
    RAMPART_ASSERT(text.find('\r') == std::string::npos);
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
