// filter/clamd_reply.cpp — clamd's INSTREAM reply, parsed (see clamd_reply.hpp).
#include "filter/clamd_reply.hpp"

namespace rampart::filter {
namespace {

constexpr std::size_t kMaxSignature = 200;

bool printable(char c) { return c > 0x20 && c < 0x7f; }

// A bounded, printable rendering of bytes for an error text.
std::string shown(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 120)) out += (printable(c) || c == ' ') ? c : '?';
    if (s.size() > 120) out += "...";
    return out;
}

ClamdReply error(std::string text) { return {ClamdReply::Kind::Error, {}, std::move(text)}; }

bool ends_with(std::string_view s, std::string_view tail) {
    return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

}  // namespace

ClamdReply parse_clamd_reply(std::string_view reply) {
    if (reply.empty()) return error("clamd closed the connection without a reply");
    if (reply.size() > kClamdMaxReply) return error("clamd's reply is longer than " + std::to_string(kClamdMaxReply) + " bytes");
    std::size_t nul = reply.find('\0');
    if (nul == std::string_view::npos) return error("clamd's reply is not NUL-terminated: \"" + shown(reply) + "\"");
    if (nul + 1 != reply.size()) return error("clamd sent bytes after its reply");
    std::string_view r = reply.substr(0, nul);
    for (char c : r)
        if (!printable(c) && c != ' ') return error("clamd's reply has a control byte: \"" + shown(r) + "\"");
    if (ends_with(r, " ERROR")) {
        std::string_view what = r.substr(0, r.size() - 6);
        return error("clamd: " + shown(what.empty() ? std::string_view("ERROR") : what));
    }
    constexpr std::string_view prefix = "stream: ";
    if (r.substr(0, prefix.size()) != prefix) return error("unrecognised clamd reply: \"" + shown(r) + "\"");
    std::string_view rest = r.substr(prefix.size());
    if (rest == "OK") return {ClamdReply::Kind::Clean, {}, {}};
    if (ends_with(rest, " FOUND")) {
        std::string_view name = rest.substr(0, rest.size() - 6);
        if (name.empty() || name.size() > kMaxSignature || name.find(' ') != std::string_view::npos)
            return error("unrecognised clamd reply: \"" + shown(r) + "\"");
        return {ClamdReply::Kind::Infected, std::string(name), {}};
    }
    return error("unrecognised clamd reply: \"" + shown(r) + "\"");
}

}  // namespace rampart::filter
