// dns/message.hpp — the DNS wire format (RFC 1035 §4) for the resolver: one query message
// (with an EDNS0 OPT record, RFC 6891, offering 1232-byte UDP answers) and the parts of an
// answer the resolver uses. Pure: no I/O.
// Trust: answers come from the network. decode_response checks every length and offset
// against the message, follows at most 64 compression pointers per name and only backwards,
// and fails (never reads past the buffer) on anything malformed; records of a type it does
// not use are skipped.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace rampart::dns {

// RR types the resolver asks or reads (RFC 1035 §3.2.2, RFC 3596).
namespace rr_type {
inline constexpr std::uint16_t A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, MX = 15, TXT = 16, AAAA = 28, OPT = 41;
}
// RCODEs (RFC 1035 §4.1.1).
namespace rcode {
inline constexpr int NoError = 0, FormErr = 1, ServFail = 2, NxDomain = 3, NotImp = 4, Refused = 5;
}

// "example.org" → a query for `type` in class IN with id `id`, recursion desired, and an
// EDNS0 OPT record. `name` may end in a dot; a label over 63 bytes or a name over 253 is an
// error (the query is never sent).
Result<std::vector<std::uint8_t>> encode_query(std::uint16_t id, std::string_view name, std::uint16_t type);

struct ResourceRecord {
    std::string owner;         // lower-case, no trailing dot
    std::uint16_t type = 0;
    std::uint32_t ttl = 0;
    // A/AAAA: numeric text; MX: the exchange (lower-case, no trailing dot, "." for a null
    // MX) with `preference`; TXT: its character-strings concatenated (RFC 7208 §3.3);
    // PTR/CNAME: the target name (lower-case, no trailing dot).
    std::string value;
    std::uint16_t preference = 0;   // MX only
};

struct Response {
    std::uint16_t id = 0;
    int rcode = 0;
    bool truncated = false;          // TC: ask again over TCP
    std::string question;            // lower-case, no trailing dot; empty when none
    std::uint16_t question_type = 0;
    std::vector<ResourceRecord> answers;   // the answer section, records of known types only
    // RFC 2308 §5: the negative-caching TTL, min(SOA TTL, SOA MINIMUM) of an SOA in the
    // authority section; nullopt when there is none.
    std::optional<std::uint32_t> negative_ttl;
};

Result<Response> decode_response(std::span<const std::uint8_t> message);

}  // namespace rampart::dns
