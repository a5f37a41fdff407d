// auth/ldap_verifier.hpp — passwords of LDAP users (`[directory] backend = "ldap"`): a
// simple bind as the user's entry (directory::LdapDirectory::check_password), run on the
// background pool so a slow LDAP server never blocks an I/O thread.
#pragma once

#include "auth/verifier.hpp"

namespace rampart::directory {
class LdapDirectory;
}

namespace rampart::auth {

class LdapBindVerifier final : public PasswordVerifier {
public:
    explicit LdapBindVerifier(const directory::LdapDirectory& ldap) : ldap_(ldap) {}
    asio::awaitable<Check> verify(const directory::User* user, std::string password) const override;

private:
    const directory::LdapDirectory& ldap_;
};

}  // namespace rampart::auth
