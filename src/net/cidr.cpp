// net/cidr.cpp — address parsing and prefix matching.
#include "net/cidr.hpp"

#include <arpa/inet.h>

#include <algorithm>
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

AddressSet::Value AddressSet::top() const { return v6_ ? ~Value(0) : Value(0xffffffffu); }

void AddressSet::add(const Cidr& c) {
    if (c.base.v6 != v6_) return;
    Value first = 0;
    for (unsigned i = 0; i < bits() / 8; ++i) first = (first << 8) | c.base.bytes[i];
    unsigned host_bits = bits() - std::min(c.prefix, bits());
    Value host = host_bits == 128 ? ~Value(0) : (Value(1) << host_bits) - 1;
    first &= ~host;
    ranges_.emplace_back(first, first | host);
    sorted_ = false;
}

void AddressSet::normalise() const {
    if (sorted_) return;
    std::sort(ranges_.begin(), ranges_.end());
    std::vector<std::pair<Value, Value>> merged;
    for (const auto& r : ranges_) {
        // Overlapping or adjacent: one interval (last + 1 cannot overflow unless last is
        // the top address, and then everything after is inside it anyway).
        if (!merged.empty() && (merged.back().second == top() || r.first <= merged.back().second + 1)) {
            merged.back().second = std::max(merged.back().second, r.second);
        } else {
            merged.push_back(r);
        }
    }
    ranges_ = std::move(merged);
    sorted_ = true;
}

void AddressSet::remove(const Cidr& c) {
    if (c.base.v6 != v6_) return;
    AddressSet cut(v6_);
    cut.add(c);
    auto [first, last] = cut.ranges_.front();
    normalise();
    std::vector<std::pair<Value, Value>> out;
    for (const auto& r : ranges_) {
        if (r.second < first || r.first > last) {
            out.push_back(r);
            continue;
        }
        if (r.first < first) out.emplace_back(r.first, first - 1);
        if (r.second > last) out.emplace_back(last + 1, r.second);
    }
    ranges_ = std::move(out);
}

bool AddressSet::empty() const { return ranges_.empty(); }

bool AddressSet::full() const {
    normalise();
    return ranges_.size() == 1 && ranges_[0].first == 0 && ranges_[0].second == top();
}

bool AddressSet::larger_than(unsigned prefix) const {
    if (full()) return prefix > 0;
    // Not full: the intervals are disjoint and leave a gap, so the sum stays below 2^bits.
    Value total = 0;
    for (const auto& r : ranges_) total += r.second - r.first + 1;
    return total > (prefix >= bits() ? Value(1) : Value(1) << (bits() - prefix));
}

}  // namespace rampart::net
