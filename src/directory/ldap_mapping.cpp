// directory/ldap_mapping.cpp — the pure half of the LDAP backend: filter escaping, DN
// comparison and the mapping of search results onto a Directory.
#include <ldap.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "directory/ldap_directory.hpp"
#include "directory/safe_senders.hpp"
#include "util/text.hpp"

namespace rampart::directory {
namespace {

const std::vector<std::string>* values(const LdapEntry& e, const std::string& attribute) {
    auto it = e.attributes.find(util::ascii_lower(attribute));
    return it == e.attributes.end() || it->second.empty() ? nullptr : &it->second;
}

std::string first(const LdapEntry& e, const std::string& attribute) {
    const auto* v = values(e, attribute);
    return v ? v->front() : std::string();
}

// AD keeps addresses in proxyAddresses as "SMTP:primary" and "smtp:alias".
std::string address_of(const std::string& v) {
    return v.size() > 5 && util::ascii_lower(v.substr(0, 5)) == "smtp:" ? v.substr(5) : v;
}

// Names held by exactly one entry; the others are reported.
std::set<std::string> unique_names(const std::vector<LdapEntry>& entries, const std::string& attribute,
                                   std::string_view kind, std::vector<std::string>& warnings) {
    std::map<std::string, int> seen;
    for (const LdapEntry& e : entries) {
        std::string name = first(e, attribute);
        if (name.empty()) warnings.push_back(std::string(kind) + " " + e.dn + ": no " + attribute + "; left out");
        else ++seen[name];
    }
    std::set<std::string> out;
    for (const auto& [name, n] : seen) {
        if (n == 1) out.insert(name);
        else warnings.push_back(std::string(kind) + " name \"" + name + "\" is held by " + std::to_string(n) + " entries; all left out");
    }
    return out;
}

}  // namespace

std::string escape_filter_value(std::string_view value) {
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (char ch : value) {
        auto c = static_cast<unsigned char>(ch);
        if (c == '*' || c == '(' || c == ')' || c == '\\' || c == 0 || c >= 0x80) {
            out += '\\';
            out += hex[c >> 4];
            out += hex[c & 0xf];
        } else {
            out += ch;
        }
    }
    return out;
}

std::string normalize_dn(std::string_view dn) {
    if (dn.empty() || dn.find('=') == std::string_view::npos) return {};
    std::string in(dn);
    char* out = nullptr;
    if (ldap_dn_normalize(in.c_str(), LDAP_DN_FORMAT_LDAPV3, &out, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || !out)
        return {};
    std::string r = util::ascii_lower(out);
    ldap_memfree(out);
    return r;
}

LdapSnapshot build_directory(const std::vector<LdapEntry>& users, const std::vector<LdapEntry>& groups,
                             const config::DirectorySettings& s) {
    LdapSnapshot snap;
    Directory& d = snap.directory;
    std::set<std::string> user_names = unique_names(users, s.ldap_user_attribute, "user", snap.warnings);
    std::set<std::string> group_names = unique_names(groups, s.ldap_group_attribute, "group", snap.warnings);
    std::map<std::string, std::string> by_dn;  // normalised DN -> "user:NAME" | "group:NAME"
    for (const LdapEntry& e : users) {
        std::string name = first(e, s.ldap_user_attribute);
        if (!user_names.contains(name)) continue;
        User u;
        u.name = name;
        u.dn = e.dn;
        for (const std::string& attribute : s.ldap_address_attributes)
            if (const auto* v = values(e, attribute))
                for (const std::string& a : *v)
                    if (std::string addr = address_of(a);
                        addr.find('@') != std::string::npos && std::find(u.addresses.begin(), u.addresses.end(), addr) == u.addresses.end())
                        u.addresses.push_back(addr);
        if (!s.ldap_kerberos_attribute.empty())
            if (const auto* v = values(e, s.ldap_kerberos_attribute)) u.kerberos = *v;
        if (!s.ldap_safe_senders_attribute.empty())
            if (const auto* v = values(e, s.ldap_safe_senders_attribute)) {
                std::vector<std::string> safe;
                for (const std::string& entry : *v) {
                    if (std::string why = safe_sender_problem(entry); !why.empty())
                        snap.warnings.push_back("user " + name + ": " + s.ldap_safe_senders_attribute + " \"" + entry + "\": " + why + "; left out");
                    else safe.push_back(entry);
                }
                if (!safe.empty()) d.safe_senders[name] = std::move(safe);
            }
        if (std::string key = normalize_dn(e.dn); !key.empty()) by_dn[key] = "user:" + name;
        d.users.push_back(std::move(u));
    }
    for (const LdapEntry& e : groups) {
        std::string name = first(e, s.ldap_group_attribute);
        if (std::string key = normalize_dn(e.dn); group_names.contains(name) && !key.empty()) by_dn[key] = "group:" + name;
    }
    for (const LdapEntry& e : groups) {
        std::string name = first(e, s.ldap_group_attribute);
        if (!group_names.contains(name)) continue;
        Group g;
        g.name = name;
        if (const auto* v = values(e, s.ldap_member_attribute))
            for (const std::string& m : *v) {
                std::string member;
                std::string key = normalize_dn(m);
                if (auto it = by_dn.find(key); !key.empty() && it != by_dn.end()) member = it->second;
                else if (user_names.contains(m)) member = "user:" + m;  // memberUid holds names
                if (!member.empty() && std::find(g.members.begin(), g.members.end(), member) == g.members.end())
                    g.members.push_back(member);
            }
        d.groups.push_back(std::move(g));
    }
    if (!s.ldap_send_as_any_group.empty())
        for (User& u : d.users) {
            std::vector<std::string> gs = d.groups_of(u.name);
            u.send_as_any = std::find(gs.begin(), gs.end(), s.ldap_send_as_any_group) != gs.end();
        }
    return snap;
}

}  // namespace rampart::directory
