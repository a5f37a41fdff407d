// net/cidr.hpp — IPv4/IPv6 addresses and prefixes for access lists. Pure value types.
// IPv4-mapped IPv6 peers (::ffff:a.b.c.d) match IPv4 prefixes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rampart::net {

struct IpAddress {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{};   // IPv4 in the first 4 bytes
    static std::optional<IpAddress> parse(std::string_view text);
    std::string text() const;
    IpAddress unmapped() const;             // ::ffff:a.b.c.d → a.b.c.d
    bool operator==(const IpAddress&) const = default;
};

struct Cidr {
    IpAddress base;
    unsigned prefix = 0;
    // "192.0.2.0/24", "2001:db8::/32", or a bare address (full-length prefix).
    static std::optional<Cidr> parse(std::string_view text);
    bool contains(const IpAddress& a) const;
    std::string text() const;
};

}  // namespace rampart::net
