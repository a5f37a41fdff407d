// net/cidr.cpp — address parsing and prefix matching.
#include "net/cidr.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace rampart::net {

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    std::string s(text);
    IpAddress a;
    if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
    if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
        a.v6 = true;
        return a;
    }
    return std::nullopt;
}

std::string IpAddress::text() const {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
    return buf;
}

IpAddress IpAddress::unmapped() const {
    static constexpr std::uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (!v6 || std::memcmp(bytes.data(), prefix, 12) != 0) return *this;
    IpAddress a;
    std::memcpy(a.bytes.data(), bytes.data() + 12, 4);
    return a;
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
    std::size_t slash = text.find('/');
    auto addr = IpAddress::parse(text.substr(0, slash));
    if (!addr) return std::nullopt;
    unsigned max = addr->v6 ? 128 : 32;
    unsigned prefix = max;
    if (slash != std::string_view::npos) {
        std::string_view p = text.substr(slash + 1);
        auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
        if (p.empty() || ec != std::errc() || end != p.data() + p.size() || prefix > max) return std::nullopt;
    }
    Cidr c{*addr, prefix};
    // Normalise: clear host bits so text() shows the network.
    for (unsigned bit = prefix; bit < max; ++bit) c.base.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
    return c;
}

bool Cidr::contains(const IpAddress& raw) const {
    IpAddress a = raw.unmapped();
    if (a.v6 != base.v6) return false;
    unsigned full = prefix / 8;
    if (std::memcmp(a.bytes.data(), base.bytes.data(), full) != 0) return false;
    unsigned rest = prefix % 8;
    if (rest == 0) return true;
    std::uint8_t mask = static_cast<std::uint8_t>(0xff00u >> rest);
    return (a.bytes[full] & mask) == (base.bytes[full] & mask);
}

std::string Cidr::text() const { return base.text() + "/" + std::to_string(prefix); }

}  // namespace rampart::net
