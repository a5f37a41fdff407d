// delivery/local.cpp — local mailbox resolution and alias expansion.
#include "delivery/local.hpp"

#include <set>

#include "config/address_space.hpp"
#include "delivery/maildir.hpp"
#include "directory/mailbox.hpp"
#include "smtp/address.hpp"
#include "util/text.hpp"

namespace rampart::delivery {
namespace {

struct Parts {
    std::string local;
    std::string domain;   // lower-case; empty for <Postmaster>
};

Parts parts(std::string_view a) {
    std::size_t at = a.rfind('@');
    if (at == std::string_view::npos) return {std::string(a), ""};
    return {std::string(a.substr(0, at)), directory::fold(a.substr(at + 1))};
}

bool authoritative(const std::vector<config::Domain>& domains, const std::string& d) {
    const config::Domain* x = config::accepted_domain(domains, d);
    return x && x->type == config::DomainType::Authoritative;
}

// <Postmaster> is looked up as postmaster@<first authoritative domain>.
std::string lookup_address(const std::vector<config::Domain>& domains, std::string_view address) {
    if (address.find('@') != std::string_view::npos) return std::string(address);
    for (const config::Domain& d : domains)
        if (d.type == config::DomainType::Authoritative) return "postmaster@" + d.name;
    return std::string(address);
}

// RFC 3461 §4 xtext.
std::string xtext(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (c < 33 || c > 126 || c == '+' || c == '=') util::append_hex_escape(out, '+', c);
        else out += static_cast<char>(c);
    }
    return out;
}

}  // namespace

LocalMailbox resolve_local(const directory::Directory* dir, const std::vector<config::Domain>& domains, std::string_view address) {
    LocalMailbox m;
    std::string addr = lookup_address(domains, address);
    // The same classification RCPT used (rule recipient.known): what it accepted is here.
    directory::Resolved r = directory::resolve(dir, addr);
    m.domain = r.domain;
    m.address = addr;
    using Kind = directory::Resolved::Kind;
    switch (r.kind) {
        case Kind::User:
            m.kind = LocalMailbox::Kind::User;
            m.user = r.user->name;
            m.maildir = folder_name(r.user->name);
            for (const std::string& a : r.user->addresses)
                if (directory::address_key(a) == directory::address_key(addr)) m.address = a;   // the directory's spelling
            return m;
        case Kind::Alias:       // not expanded when it was accepted: it loops (or the directory changed)
        case Kind::AliasLoop: m.kind = LocalMailbox::Kind::Alias; return m;
        case Kind::Postmaster:
            m.kind = LocalMailbox::Kind::Postmaster;
            m.maildir = "postmaster";
            return m;
        case Kind::Unknown: m.kind = LocalMailbox::Kind::Unknown; return m;
        case Kind::Catchall: break;
    }
    m.kind = LocalMailbox::Kind::Catchall;
    m.maildir = std::filesystem::path(folder_name(r.domain)) / folder_name(r.local);
    return m;
}

std::vector<queue::Recipient> expand_recipients(const directory::Directory& dir, const std::vector<config::Domain>& domains,
                                                const std::vector<queue::Recipient>& rcpts) {
    std::vector<queue::Recipient> out;
    std::set<std::string> seen;
    auto add = [&](queue::Recipient r) {
        if (seen.insert(directory::address_key(r.address)).second) out.push_back(std::move(r));
    };
    for (const queue::Recipient& r : rcpts) {
        std::string addr = lookup_address(domains, r.address);
        Parts p = parts(addr);
        directory::Lookup l = authoritative(domains, p.domain) ? directory::lookup(dir, addr) : directory::Lookup{};
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
            if (n.orcpt.empty()) n.orcpt = "rfc822;" + xtext(r.address);
            n.alias = r.address;   // reports name the alias, never its members (queue/dsn.hpp)
            add(std::move(n));
        }
    }
    return out;
}

}  // namespace rampart::delivery
