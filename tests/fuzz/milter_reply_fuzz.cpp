// Fuzz target: the milter reply parser and the message editor. Input: packets as a milter
// sends them (4-byte length, command, data), one after another. Each is parsed (an Error or
// a Reply, never a crash); a ReplyCode is a valid 4xx/5xx reply with printable text; the
// modifications found are applied to a fixed message, whose header block must come out
// with CRLF line ends only.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "filter/milter_protocol.hpp"

using namespace rampart::filter::milter;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::vector<Reply> mods;
    while (in.size() >= 4) {
        auto n = packet_length(in.substr(0, 4));
        if (!n) break;
        in.remove_prefix(4);
        std::string_view pkt = in.substr(0, *n);
        in.remove_prefix(pkt.size());
        auto r = parse_reply(pkt);
        if (!r) {
            if (r.error().message.empty()) std::abort();
            continue;
        }
        if (r->kind == Reply::Kind::ReplyCode) {
            if (r->reply.code < 400 || r->reply.code > 559 || r->reply.text.size() > kMaxReplyText) std::abort();
            for (char c : r->reply.text)
                if (c < 0x20 || c >= 0x7f) std::abort();
        }
        if (r->is_modification()) mods.push_back(*r);
    }
    std::string msg = "Received: x\r\nSubject: s\r\nX-A: 1\r\n\tf\r\n\r\nbody\r\n";
    std::string out = edit_message(msg, mods);
    std::size_t end = out.find("\r\n\r\n");
    if (end == std::string::npos) std::abort();
    for (std::size_t i = 0; i < end; ++i)
        if ((out[i] == '\n' && (i == 0 || out[i - 1] != '\r')) || (out[i] == '\r' && out[i + 1] != '\n')) std::abort();
    return 0;
}
