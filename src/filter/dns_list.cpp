// filter/dns_list.cpp — see dns_list.hpp.
#include "filter/dns_list.hpp"

#include <algorithm>

namespace rampart::filter {

std::string dns_list_name(const net::IpAddress& client, std::string_view zone) {
    net::IpAddress a = client.unmapped();
    std::string out;
    if (!a.v6) {
        for (int i = 3; i >= 0; --i) out += std::to_string(a.bytes[static_cast<std::size_t>(i)]) + ".";
    } else {
        static constexpr char kHex[] = "0123456789abcdef";
        for (int i = 15; i >= 0; --i) {
            std::uint8_t b = a.bytes[static_cast<std::size_t>(i)];
            out += kHex[b & 0xf];
            out += '.';
            out += kHex[b >> 4];
            out += '.';
        }
    }
    return out + std::string(zone);
}

std::optional<std::string> counted_answer(const std::vector<std::string>& answers, const std::vector<net::Cidr>& match) {
    static const net::Cidr kLoopback = *net::Cidr::parse("127.0.0.0/8");
    for (const std::string& text : answers) {
        auto a = net::IpAddress::parse(text);
        if (!a || a->v6) continue;
        if (match.empty() ? kLoopback.contains(*a)
                          : std::any_of(match.begin(), match.end(), [&](const net::Cidr& c) { return c.contains(*a); }))
            return text;
    }
    return std::nullopt;
}

}  // namespace rampart::filter
