// auth/password.cpp — hashing and verification.
#include "auth/password.hpp"

#include <crypt.h>
#include <sodium.h>

#include <cstring>

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>

namespace rampart::auth {

Result<std::string> hash_password(std::string_view password) {
    if (sodium_init() < 0) return Error{0, "libsodium initialisation failed"};
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return Error{0, "out of memory while hashing"};
    return std::string(out);
}

bool verify_password(const std::string& hash, std::string_view password) {
    if (hash.rfind("$argon2id$", 0) == 0) {
        if (sodium_init() < 0) return false;
        return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
    }
    if (hash.rfind("$y$", 0) == 0) {
        std::string pw(password);
        crypt_data data{};
        const char* r = crypt_r(pw.c_str(), hash.c_str(), &data);
        return r && r[0] != '*' && hash.size() == std::strlen(r) &&
               sodium_memcmp(r, hash.c_str(), hash.size()) == 0;
    }
    return false;
}

asio::awaitable<bool> verify_async(std::string hash, std::string password) {
    static asio::thread_pool pool(2);
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(bool)>(
        [&](auto handler) {
            auto ex = asio::get_associated_executor(handler);
            auto h = std::make_shared<decltype(handler)>(std::move(handler));
            asio::post(pool, [h, ex, hash = std::move(hash), password = std::move(password)]() mutable {
                bool ok = verify_password(hash, password);
                sodium_memzero(password.data(), password.size());
                asio::post(ex, [h, ok]() mutable { (*h)(ok); });
            });
        },
        asio::use_awaitable);
}

}  // namespace rampart::auth
