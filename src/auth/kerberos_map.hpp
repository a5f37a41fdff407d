// auth/kerberos_map.hpp — which directory user or organisation server an authenticated
// Kerberos principal is (issue 3 item 2). Pure: takes the directory snapshot, returns a
// value. The live GSSAPI login and `rampart explain --kerberos` call this same function.
//
// Rules, first match wins:
//   1. "users.kerberos":   a [[users]] entry whose `kerberos` list holds the principal;
//   2. "servers.kerberos": a [[servers]] entry whose `kerberos` list holds it;
//   3. "kerberos.realm":   with [kerberos] realm = "R" set, NAME@R where NAME has no
//      instance ('/') is the user NAME, if the directory has one.
// Principals compare exactly (Kerberos names are case-sensitive). Anything else maps to
// nothing, and the login is refused.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "policy/principal.hpp"

namespace rampart::directory {
class Directory;
}

namespace rampart::auth {

struct KerberosMatch {
    policy::Principal principal;   // Kind::User (groups resolved) or Kind::Server
    std::string rule;              // "users.kerberos" | "servers.kerberos" | "kerberos.realm"
};

std::optional<KerberosMatch> map_kerberos(const directory::Directory& dir, std::string_view principal,
                                          std::string_view default_realm);

}  // namespace rampart::auth
