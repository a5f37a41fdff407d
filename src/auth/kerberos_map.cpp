// auth/kerberos_map.cpp — Kerberos principal → directory user or server.
#include "auth/kerberos_map.hpp"

#include <algorithm>

#include "directory/directory.hpp"

namespace rampart::auth {
namespace {

bool lists(const std::vector<std::string>& principals, std::string_view p) {
    return std::find(principals.begin(), principals.end(), p) != principals.end();
}

policy::Principal user_principal(const directory::Directory& dir, const directory::User& u) {
    return policy::Principal{policy::Principal::Kind::User, u.name, dir.groups_of(u.name), u.addresses, u.send_as_any};
}

}  // namespace

std::optional<KerberosMatch> map_kerberos(const directory::Directory& dir, std::string_view principal,
                                          std::string_view default_realm) {
    if (principal.empty()) return std::nullopt;
    for (const directory::User& u : dir.users)
        if (lists(u.kerberos, principal)) return KerberosMatch{user_principal(dir, u), "users.kerberos"};
    for (const directory::Server& s : dir.servers)
        if (lists(s.kerberos, principal))
            return KerberosMatch{policy::Principal{policy::Principal::Kind::Server, s.name, {}, {}, false}, "servers.kerberos"};
    if (default_realm.empty()) return std::nullopt;
    std::size_t at = principal.rfind('@');
    if (at == std::string_view::npos || at == 0 || principal.substr(at + 1) != default_realm) return std::nullopt;
    std::string_view name = principal.substr(0, at);
    // Service and admin instances (smtp/host, alice/admin) are never users by default, and
    // an escaped character means a name no directory user can have.
    if (name.find_first_of("/\\@") != std::string_view::npos) return std::nullopt;
    if (const directory::User* u = dir.user(name)) return KerberosMatch{user_principal(dir, *u), "kerberos.realm"};
    return std::nullopt;
}

}  // namespace rampart::auth
