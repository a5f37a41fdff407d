// directory/mailbox.cpp — address look-up and alias expansion.
#include "directory/mailbox.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <set>

namespace rampart::directory {

std::string fold(std::string_view s) { return util::ascii_lower(s); }

bool is_postmaster(std::string_view local) { return fold(local) == "postmaster"; }

namespace {

std::string domain_of(std::string_view address) {
    std::size_t at = address.rfind('@');
    return at == std::string_view::npos ? std::string() : fold(address.substr(at + 1));
}

void expand_into(const Directory& d, const std::string& address, int depth, std::set<std::string>& seen_aliases,
                 std::set<std::string>& seen_out, Expansion& out) {
    Lookup l = lookup(d, address);
    if (!l.alias) {
        if (seen_out.insert(fold(address)).second) out.addresses.push_back(address);
        return;
    }
    if (depth >= kMaxAliasDepth || !seen_aliases.insert(fold(l.alias->address)).second) {
        out.loop = true;
        return;
    }
    for (const std::string& t : l.alias->targets) {
        if (t.rfind("user:", 0) == 0) {
            const User* u = d.user(t.substr(5));
            if (u && !u->addresses.empty() && seen_out.insert(fold(u->addresses.front())).second)
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

Lookup lookup(const Directory& d, std::string_view address) {
    std::string key = fold(address);
    Lookup l;
    for (const User& u : d.users)
        for (const std::string& a : u.addresses)
            if (!l.user && fold(a) == key) l.user = &u;
    if (l.user) return l;
    for (const Alias& a : d.aliases)
        if (fold(a.address) == key) {
            l.alias = &a;
            break;
        }
    return l;
}

Expansion expand(const Directory& d, std::string_view address) {
    Expansion out;
    std::set<std::string> seen_aliases, seen_out;
    expand_into(d, std::string(address), 0, seen_aliases, seen_out, out);
    return out;
}

}  // namespace rampart::directory
