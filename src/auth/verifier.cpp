// auth/verifier.cpp — the stored-hash verifier.
#include "auth/verifier.hpp"

#include "auth/password.hpp"
#include "directory/directory.hpp"

namespace rampart::auth {

asio::awaitable<Check> HashVerifier::verify(const directory::User* user, std::string password) const {
    // Verify against a fixed dummy hash for unknown users so timing does not tell.
    static const std::string kDummy = [] {
        auto h = hash_password("rampart-dummy-password");
        return h ? *h : std::string();
    }();
    bool stored = user && !user->password.empty();
    bool ok = co_await verify_async(stored ? user->password : kDummy, std::move(password));
    co_return ok && stored ? Check::Valid : Check::Invalid;
}

}  // namespace rampart::auth
