// net/cidr.hpp — IPv4/IPv6 addresses and prefixes for access lists. Pure value types.
// IPv4-mapped IPv6 peers (::ffff:a.b.c.d) match IPv4 prefixes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// A set of addresses of one family as sorted, disjoint intervals: for judging a list of
// prefixes as a whole ("do these 512 entries together admit every address?"), where
// looking at one entry at a time says nothing.
class AddressSet {
public:
    explicit AddressSet(bool v6) : v6_(v6) {}
    void add(const Cidr& c);        // a prefix of the other family is ignored
    void remove(const Cidr& c);
    bool empty() const;
    bool full() const;              // every address of the family
    // More addresses than one prefix of this length holds (8: more than a /8).
    bool larger_than(unsigned prefix) const;

private:
    __extension__ typedef unsigned __int128 Value;   // GCC and Clang; IPv6 needs 128 bits
    void normalise() const;                          // sort and merge what add() appended
    unsigned bits() const { return v6_ ? 128 : 32; }
    Value top() const;                               // the highest address of the family
    bool v6_;
    mutable std::vector<std::pair<Value, Value>> ranges_;   // inclusive [first, last]
    mutable bool sorted_ = true;
};

}  // namespace rampart::net
