// delivery/destination_policy.hpp — which addresses a route = "mx" send connector may
// connect to. An MX record or an address-literal recipient (user@[10.0.0.1]) is chosen by
// whoever controls DNS or sends the mail, so without this check an anonymous client could
// make the server connect to loopback or inside services (server-side request forgery).
// Pure: an address in, the name of the reserved range it falls in (or nothing) out.
#pragma once

#include <optional>
#include <string_view>

#include "net/cidr.hpp"

namespace rampart::delivery {

// The reserved range `a` falls in ("loopback", "private (RFC 1918)", "link-local", ...),
// or nullopt for an ordinary public address. IPv4-mapped IPv6 addresses are judged by
// their IPv4 address. Ranges: 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12,
// 192.168/16, 224/4, 240/4 (with 255.255.255.255); ::, ::1, fc00::/7, fe80::/10, ff00::/8.
std::optional<std::string_view> reserved_range(const net::IpAddress& a);

}  // namespace rampart::delivery
