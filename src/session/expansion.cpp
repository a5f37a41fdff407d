// session/expansion.cpp — aliases to final recipients before the commit (see expansion.hpp).
#include "session/expansion.hpp"

#include <set>

#include "directory/mailbox.hpp"
#include "smtp/command_parser.hpp"

namespace rampart::session {

std::vector<queue::Recipient> expand_recipients(const directory::Directory& dir, const std::vector<config::Domain>& domains,
                                                const std::vector<queue::Recipient>& rcpts) {
    std::vector<queue::Recipient> out;
    std::set<std::string> seen;
    auto add = [&](queue::Recipient r) {
        if (seen.insert(directory::address_key(r.address)).second) out.push_back(std::move(r));
    };
    for (const queue::Recipient& r : rcpts) {
        std::string addr = directory::lookup_form(domains, r.address);
        std::size_t at = addr.rfind('@');
        std::string domain = at == std::string::npos ? std::string() : directory::fold(std::string_view(addr).substr(at + 1));
        directory::Lookup l = directory::authoritative(domains, domain) ? directory::lookup(dir, addr) : directory::Lookup{};
        if (!l.alias) {
            add(r);
            continue;
        }
        directory::Expansion e = directory::expand(dir, addr);
        if (e.addresses.empty()) {
            add(r);
            continue;
        }
        for (const std::string& a : e.addresses) {
            queue::Recipient n = r;
            n.address = a;
            n.done = false;
            n.last = {};
            if (n.orcpt.empty()) n.orcpt = "rfc822;" + smtp::encode_xtext(r.address);
            n.alias = r.address;   // reports name the alias, never its members (queue/dsn.hpp)
            add(std::move(n));
        }
    }
    return out;
}

}  // namespace rampart::session
