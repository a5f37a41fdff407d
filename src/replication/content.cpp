// replication/content.cpp — the hub's replicated entries (see content.hpp).
#include "replication/content.hpp"

#include "replication/codec.hpp"
#include "replication/signing.hpp"

namespace rampart::replication {

std::set<std::string> config_entries(const config::Config& cfg) {
    std::set<std::string> out;
    const config::Listener* to_hub = nullptr;
    for (const config::Listener& l : cfg.listeners)
        if (l.name == "from-edge") to_hub = &l;
    if (!to_hub && !cfg.listeners.empty()) to_hub = &cfg.listeners.front();
    std::string address;
    if (to_hub && !to_hub->bind.empty()) {
        const config::Endpoint& e = to_hub->bind.front();
        bool any = e.host == "0.0.0.0" || e.host == "::";
        address = (any ? cfg.server.hostname : e.host.find(':') != std::string::npos ? "[" + e.host + "]" : e.host) + ":" +
                  std::to_string(e.port);
    }
    for (const config::Domain& d : cfg.domains) {
        std::string type = d.type == config::DomainType::Authoritative   ? "authoritative"
                           : d.type == config::DomainType::InternalRelay ? "internal-relay"
                                                                          : "external-relay";
        out.insert("domain " + d.name + " " + type);
        if (!address.empty()) out.insert("route " + d.name + " " + address);
    }
    return out;
}

std::set<std::string> recipient_entries(const directory::Directory& dir, const std::string& org_key) {
    std::set<std::string> out;
    out.insert("orgkey " + to_hex(org_key));
    for (const directory::User& u : dir.users) {
        for (const std::string& a : u.addresses) out.insert("rcpt " + recipient_hash(org_key, a));
        auto safe = dir.safe_senders.find(u.name);
        if (safe == dir.safe_senders.end()) continue;
        for (const std::string& a : u.addresses)
            for (const std::string& s : safe->second)
                out.insert("safe " + recipient_hash(org_key, a) + " " + safe_sender_hash(org_key, s));
    }
    for (const directory::Alias& a : dir.aliases) out.insert("rcpt " + recipient_hash(org_key, a.address));
    return out;
}

}  // namespace rampart::replication
