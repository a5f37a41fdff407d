// delivery/destination_policy.cpp — the reserved ranges route = "mx" does not connect to.
#include "delivery/destination_policy.hpp"

#include <utility>
#include <vector>

namespace rampart::delivery {

std::optional<std::string_view> reserved_range(const net::IpAddress& raw) {
    static const std::vector<std::pair<net::Cidr, std::string_view>> kRanges = [] {
        std::vector<std::pair<net::Cidr, std::string_view>> v;
        for (auto [cidr, name] : std::initializer_list<std::pair<const char*, std::string_view>>{
                 {"0.0.0.0/8", "unspecified (0.0.0.0/8)"},
                 {"10.0.0.0/8", "private (RFC 1918)"},
                 {"100.64.0.0/10", "shared address space (CGNAT, RFC 6598)"},
                 {"127.0.0.0/8", "loopback"},
                 {"169.254.0.0/16", "link-local"},
                 {"172.16.0.0/12", "private (RFC 1918)"},
                 {"192.168.0.0/16", "private (RFC 1918)"},
                 {"224.0.0.0/4", "multicast"},
                 {"240.0.0.0/4", "reserved (240.0.0.0/4, broadcast)"},
                 {"::/128", "unspecified (::)"},
                 {"::1/128", "loopback"},
                 {"fc00::/7", "unique local (fc00::/7)"},
                 {"fe80::/10", "link-local"},
                 {"ff00::/8", "multicast"}})
            v.emplace_back(*net::Cidr::parse(cidr), name);
        return v;
    }();
    net::IpAddress a = raw.unmapped();
    for (const auto& [cidr, name] : kRanges)
        if (cidr.base.v6 == a.v6 && cidr.contains(a)) return name;
    return std::nullopt;
}

}  // namespace rampart::delivery
