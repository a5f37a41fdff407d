// directory/mailbox.cpp — address look-up and alias expansion.
#include "directory/mailbox.hpp"

#include "config/address_space.hpp"
#include "smtp/address.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <set>

namespace rampart::directory {

std::string fold(std::string_view s) { return util::ascii_lower(s); }

bool is_postmaster(std::string_view local) { return fold(local) == "postmaster"; }

namespace {

std::string domain_of(std::string_view address) {
    std::string key = address_key(address);
    std::size_t at = key.rfind('@');
    return at == std::string::npos ? std::string() : key.substr(at + 1);
}

void expand_into(const Directory& d, const std::string& address, int depth, std::set<std::string>& seen_aliases,
                 std::set<std::string>& seen_out, Expansion& out) {
    Lookup l = lookup(d, address);
    if (!l.alias) {
        if (seen_out.insert(address_key(address)).second) out.addresses.push_back(address);
        return;
    }
    if (depth >= kMaxAliasDepth || !seen_aliases.insert(address_key(l.alias->address)).second) {
        out.loop = true;
        return;
    }
    for (const std::string& t : l.alias->targets) {
        if (t.rfind("user:", 0) == 0) {
            const User* u = d.user(t.substr(5));
            if (u && !u->addresses.empty() && seen_out.insert(address_key(u->addresses.front())).second)
                out.addresses.push_back(u->addresses.front());
            continue;
        }
        expand_into(d, t, depth + 1, seen_aliases, seen_out, out);
    }
}

}  // namespace

bool covers_domain(const Directory& d, std::string_view domain) {
    std::string key = fold(domain);
    for (const User& u : d.users)
        for (const std::string& a : u.addresses)
            if (domain_of(a) == key) return true;
    return std::any_of(d.aliases.begin(), d.aliases.end(), [&](const Alias& a) { return domain_of(a.address) == key; });
}

std::string address_key(std::string_view address) {
    // Quotes (and quoted-pairs, which live only inside them) are the only spellings that
    // folding alone does not make equal; the common case needs no parse.
    if (address.find('"') == std::string_view::npos) return fold(address);
    std::optional<smtp::Mailbox> m = smtp::parse_mailbox(address);
    return fold(m ? m->key() : address);
}

Lookup lookup(const Directory& d, std::string_view address) {
    std::string key = address_key(address);
    Lookup l;
    for (const User& u : d.users)
        for (const std::string& a : u.addresses)
            if (!l.user && address_key(a) == key) l.user = &u;
    if (l.user) return l;
    for (const Alias& a : d.aliases)
        if (address_key(a.address) == key) {
            l.alias = &a;
            break;
        }
    return l;
}

Resolved resolve(const Directory* d, std::string_view address) {
    Resolved r;
    std::optional<smtp::Mailbox> m = smtp::parse_mailbox(address);
    if (m) {
        r.local = m->local_unquoted();
        r.domain = m->domain_key();
    } else {   // not RFC 5321 syntax (it never passed RCPT): split as written
        std::size_t at = address.rfind('@');
        r.local = std::string(address.substr(0, at));
        r.domain = at == std::string_view::npos ? std::string() : fold(address.substr(at + 1));
    }
    if (d) {
        Lookup l = lookup(*d, address);
        if (l.user) {
            r.kind = Resolved::Kind::User;
            r.user = l.user;
            return r;
        }
        if (l.alias) {
            r.alias = l.alias;
            r.kind = expand(*d, address).addresses.empty() ? Resolved::Kind::AliasLoop : Resolved::Kind::Alias;
            return r;
        }
    }
    if (r.domain.empty() || is_postmaster(r.local)) r.kind = Resolved::Kind::Postmaster;
    else if (d && covers_domain(*d, r.domain)) r.kind = Resolved::Kind::Unknown;
    else r.kind = Resolved::Kind::Catchall;
    return r;
}

Expansion expand(const Directory& d, std::string_view address) {
    Expansion out;
    std::set<std::string> seen_aliases, seen_out;
    expand_into(d, std::string(address), 0, seen_aliases, seen_out, out);
    return out;
}

std::string lookup_form(const std::vector<config::Domain>& domains, std::string_view address) {
    if (address.find('@') != std::string_view::npos) return std::string(address);
    for (const config::Domain& d : domains)
        if (d.type == config::DomainType::Authoritative) return "postmaster@" + d.name;
    return std::string(address);
}

bool authoritative(const std::vector<config::Domain>& domains, std::string_view domain) {
    const config::Domain* x = config::accepted_domain(domains, domain);
    return x && x->type == config::DomainType::Authoritative;
}

}  // namespace rampart::directory
