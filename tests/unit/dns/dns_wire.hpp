// dns_wire.hpp — builds DNS answers for the dns unit tests (the resolver's own codec only
// encodes queries): header, the question, answer records and an optional authority SOA.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::dns::testing {

inline void put16(std::vector<std::uint8_t>& o, std::uint16_t v) {
    o.push_back(static_cast<std::uint8_t>(v >> 8));
    o.push_back(static_cast<std::uint8_t>(v));
}
inline void put32(std::vector<std::uint8_t>& o, std::uint32_t v) {
    put16(o, static_cast<std::uint16_t>(v >> 16));
    put16(o, static_cast<std::uint16_t>(v));
}
inline void put_name(std::vector<std::uint8_t>& o, std::string_view name) {
    while (!name.empty()) {
        auto dot = name.find('.');
        std::string_view label = name.substr(0, dot);
        o.push_back(static_cast<std::uint8_t>(label.size()));
        o.insert(o.end(), label.begin(), label.end());
        name = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
    }
    o.push_back(0);
}

struct Rr {
    std::uint16_t type;
    std::uint32_t ttl;
    std::vector<std::uint8_t> rdata;
    std::string owner;   // empty: a compression pointer to the question name (offset 12)
};

inline std::vector<std::uint8_t> txt_rdata(std::string_view text) {
    std::vector<std::uint8_t> o{static_cast<std::uint8_t>(text.size())};
    o.insert(o.end(), text.begin(), text.end());
    return o;
}

struct Reply {
    std::uint16_t id = 0;
    std::string qname;
    std::uint16_t qtype = 1;
    int rcode = 0;
    bool tc = false;
    std::vector<Rr> answers;
    std::optional<std::pair<std::uint32_t, std::uint32_t>> soa;   // (SOA TTL, MINIMUM)
};

inline Reply reply(std::uint16_t id, std::string qname, std::uint16_t qtype, int rcode = 0) {
    Reply r;
    r.id = id;
    r.qname = std::move(qname);
    r.qtype = qtype;
    r.rcode = rcode;
    return r;
}

inline std::vector<std::uint8_t> encode(const Reply& r) {
    std::vector<std::uint8_t> o;
    put16(o, r.id);
    put16(o, static_cast<std::uint16_t>(0x8180 | (r.tc ? 0x0200 : 0) | r.rcode));
    put16(o, 1);
    put16(o, static_cast<std::uint16_t>(r.answers.size()));
    put16(o, r.soa ? 1 : 0);
    put16(o, 0);
    put_name(o, r.qname);
    put16(o, r.qtype);
    put16(o, 1);
    for (const Rr& a : r.answers) {
        if (a.owner.empty()) put16(o, 0xc00c);
        else put_name(o, a.owner);
        put16(o, a.type);
        put16(o, 1);
        put32(o, a.ttl);
        put16(o, static_cast<std::uint16_t>(a.rdata.size()));
        o.insert(o.end(), a.rdata.begin(), a.rdata.end());
    }
    if (r.soa) {
        put16(o, 0xc00c);
        put16(o, 6);
        put16(o, 1);
        put32(o, r.soa->first);
        std::vector<std::uint8_t> rd;
        put_name(rd, "ns.test");
        put_name(rd, "hostmaster.test");
        for (int i = 0; i < 4; ++i) put32(rd, 100);
        put32(rd, r.soa->second);
        put16(o, static_cast<std::uint16_t>(rd.size()));
        o.insert(o.end(), rd.begin(), rd.end());
    }
    return o;
}

}  // namespace rampart::dns::testing
