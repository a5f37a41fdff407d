// Fuzz target: the DNS answer decoder (dns/message.hpp). Any input is decoded or refused,
// never a crash or a read past the buffer; decoded names stay within 255 bytes, addresses
// are numeric text, and the negative TTL never exceeds 2^31 - 1 (RFC 2181 §8).
#include <cstdint>
#include <cstdlib>
#include <span>

#include "dns/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto r = rampart::dns::decode_response(std::span<const std::uint8_t>(data, size));
    if (!r) {
        if (r.error().message.empty()) std::abort();
        return 0;
    }
    if (r->question.size() > 255) std::abort();
    if (r->negative_ttl && *r->negative_ttl > 0x7fffffffu) std::abort();
    for (const rampart::dns::ResourceRecord& rr : r->answers) {
        if (rr.owner.size() > 255 || rr.ttl > 0x7fffffffu) std::abort();
        if (rr.type == rampart::dns::rr_type::A && (rr.value.empty() || rr.value.size() > 15)) std::abort();
        if (rr.type == rampart::dns::rr_type::TXT && rr.value.size() > size) std::abort();
    }
    return 0;
}
