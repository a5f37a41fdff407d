// auth/ldap_verifier.cpp — LDAP bind as the user (see ldap_verifier.hpp).
#include "auth/ldap_verifier.hpp"

#include <sodium.h>

#include <functional>
#include <memory>

#include "auth/password.hpp"
#include "directory/directory.hpp"
#include "directory/ldap_directory.hpp"

namespace rampart::auth {

asio::awaitable<Check> LdapBindVerifier::verify(const directory::User* user, std::string password) const {
    if (user && user->dn.empty()) co_return Check::Invalid;  // not an LDAP user
    // An unknown name costs the same round trips, against an entry that cannot exist, so
    // that timing does not tell which names exist.
    std::string name = user ? user->name : std::string("rampart-no-such-user");
    std::string dn = user ? user->dn : "cn=" + name + "," + ldap_.settings().ldap_base_dn;
    auto pw = std::make_shared<std::string>(std::move(password));
    const directory::LdapDirectory* ldap = &ldap_;
    // A named function object, not a temporary inside the co_await (GCC 12 coroutine bugs).
    std::function<int()> work = [ldap, dn = std::move(dn), name = std::move(name), pw] {
        directory::BindCheck c = ldap->check_password(dn, name, *pw);
        sodium_memzero(pw->data(), pw->size());
        return c == directory::BindCheck::Valid ? 0 : c == directory::BindCheck::Invalid ? 1 : 2;
    };
    int answer = co_await run_background(std::move(work));
    Check r = answer == 0 ? Check::Valid : answer == 1 ? Check::Invalid : Check::Unavailable;
    co_return user ? r : r == Check::Unavailable ? r : Check::Invalid;
}

}  // namespace rampart::auth
