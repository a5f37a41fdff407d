// filter/dns_list.hpp — the pure parts of DNS lists (RFC 5782) for the connection filter:
// the query name of a client address, which answers count, and the cache of answers
// (kept for the answer's TTL). The look-up itself is dns::Resolver::lookup_a.
// Trust: answers come from the network; only A records in the configured `match`
// prefixes (default 127.0.0.0/8, RFC 5782 §2.1) count, anything else is ignored.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/cidr.hpp"

namespace rampart::filter {

// "<reversed IPv4 octets>.<zone>" (2.0.0.127.bl.example.test) or "<32 reversed IPv6
// nibbles>.<zone>" (RFC 5782 §2.1, §2.4). IPv4-mapped IPv6 addresses are asked as IPv4.
std::string dns_list_name(const net::IpAddress& client, std::string_view zone);

// The first answer inside one of `match` (empty `match`: 127.0.0.0/8); nullopt if none
// counts. Answers that are not IPv4 addresses never count.
std::optional<std::string> counted_answer(const std::vector<std::string>& answers, const std::vector<net::Cidr>& match);

// Look-up results shared by every session, kept for their TTL, bounded in size.
// Thread-safe. Times are passed in (steady clock) so tests can move them.
class DnsListCache {
public:
    using Clock = std::chrono::steady_clock;
    struct Entry {
        std::vector<std::string> addresses;   // A answers; empty: not listed (NXDOMAIN/NODATA)
    };
    // Bounds on how long an answer is kept: a TTL above kMaxTtl is cut to it; a negative
    // answer (NXDOMAIN/NODATA, whose SOA minimum libresolv does not hand back) is kept
    // kNegativeTtl. Failures are not cached here (the connection filter rests a list
    // that did not answer instead).
    static constexpr std::chrono::seconds kMaxTtl{3600};
    static constexpr std::chrono::seconds kNegativeTtl{60};
    static constexpr std::size_t kMaxEntries = 100000;

    std::optional<Entry> get(const std::string& name, Clock::time_point now) const;
    // `ttl`: the answer's TTL (listed), ignored for negative answers. A TTL of 0 is not
    // cached.
    void put(const std::string& name, Entry e, std::chrono::seconds ttl, Clock::time_point now);
    std::size_t size() const;

private:
    struct Stored {
        Entry entry;
        Clock::time_point expires;
    };
    mutable std::mutex mu_;
    std::map<std::string, Stored> entries_;
};

}  // namespace rampart::filter
