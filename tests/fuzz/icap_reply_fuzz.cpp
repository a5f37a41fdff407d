// Fuzz target: the ICAP reply reader and its interpretation. Any input, fed whole or split at
// a point the input chooses, yields Clean, Infected or Error, never a crash; a threat name is
// 1..203 printable characters; an error text is non-empty and printable; both splits agree.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "filter/icap_reply.hpp"

namespace {

using rampart::filter::ClamdReply;

void check(const ClamdReply& r) {
    if (r.kind == ClamdReply::Kind::Infected) {
        if (r.signature.empty() || r.signature.size() > 203) std::abort();
        for (char c : r.signature)
            if (c < 0x20 || c >= 0x7f) std::abort();
    }
    if (r.kind == ClamdReply::Kind::Error && r.error.empty()) std::abort();
    for (char c : r.error)
        if (c < 0x20 || c >= 0x7f) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace rampart::filter;
    std::string_view in(reinterpret_cast<const char*>(data), size);
    // The first byte picks the split point and the message "sent" (for the unchanged-body check).
    std::size_t split = size ? data[0] : 0;
    std::string_view sent = "hello\r\n";
    ClamdReply whole = parse_icap_reply(in, sent);
    check(whole);
    IcapReplyReader reader(sent.size());
    reader.feed(in.substr(0, split < size ? split : size));
    if (split < size) reader.feed(in.substr(split));
    ClamdReply parts = reader.finish() == IcapReplyReader::State::Error ? ClamdReply{ClamdReply::Kind::Error, {}, reader.error()}
                                                                        : interpret_icap_reply(reader.response(), sent);
    check(parts);
    if (parts.kind != whole.kind || parts.signature != whole.signature || parts.error != whole.error) std::abort();
    return 0;
}
