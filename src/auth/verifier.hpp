// auth/verifier.hpp — "is this the user's password?", asked by the SMTP session without
// knowing where passwords live. The file backend checks the stored hash (HashVerifier); the
// LDAP backend binds as the user's entry (auth::LdapBindVerifier). `serve` picks one.
#pragma once

#include <string>

#include <asio/awaitable.hpp>

namespace rampart::directory {
struct User;
}

namespace rampart::auth {

enum class Check { Valid, Invalid, Unavailable };  // Unavailable: the backend could not answer

class PasswordVerifier {
public:
    virtual ~PasswordVerifier() = default;
    // `user` is null for an unknown name: the answer is Invalid, after comparable work so
    // that timing does not tell which names exist. Runs the slow part off the I/O thread.
    virtual asio::awaitable<Check> verify(const directory::User* user, std::string password) const = 0;
};

// Argon2id / yescrypt hash stored in the directory file (auth/password.hpp).
class HashVerifier final : public PasswordVerifier {
public:
    asio::awaitable<Check> verify(const directory::User* user, std::string password) const override;
};

}  // namespace rampart::auth
