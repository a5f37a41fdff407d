// filter/dns_list.hpp — the pure parts of DNS lists (RFC 5782) for the connection filter:
// the query name of a client address and which answers count. The look-up itself (and
// its cache, for the answer's TTL) is the shared dns::Resolver's lookup_a.
// Trust: answers come from the network; only A records in the configured `match`
// prefixes (default 127.0.0.0/8, RFC 5782 §2.1) count, anything else is ignored.
#pragma once

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

}  // namespace rampart::filter
