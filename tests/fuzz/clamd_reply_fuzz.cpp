// Fuzz target: clamd's INSTREAM reply parser. Any input yields Clean, Infected or Error,
// never a crash; an Infected signature is 1..200 printable characters without spaces.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "filter/clamd_reply.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto r = rampart::filter::parse_clamd_reply(in);
    using Kind = rampart::filter::ClamdReply::Kind;
    if (r.kind == Kind::Infected) {
        if (r.signature.empty() || r.signature.size() > 200) std::abort();
        for (char c : r.signature)
            if (c <= 0x20 || c >= 0x7f) std::abort();
    }
    if (r.kind == Kind::Error && r.error.empty()) std::abort();
    for (char c : r.error)
        if (c < 0x20 || c >= 0x7f) std::abort();
    return 0;
}
