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

asio::awaitable<int> run_background(std::function<int()> work) {
    static asio::thread_pool pool(2);
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(int)>(
        [&](auto handler) {
            auto ex = asio::get_associated_executor(handler);
            auto h = std::make_shared<decltype(handler)>(std::move(handler));
            asio::post(pool, [h, ex, work = std::move(work)]() mutable {
                int r = work();
                work = nullptr;  // drop captured secrets on the pool thread
                asio::post(ex, [h, r]() mutable { (*h)(r); });
            });
        },
        asio::use_awaitable);
}

asio::awaitable<bool> verify_async(std::string hash, std::string password) {
    auto pw = std::make_shared<std::string>(std::move(password));
    // A named function object, not a temporary inside the co_await (GCC 12 coroutine bugs).
    std::function<int()> work = [hash = std::move(hash), pw] {
        bool r = verify_password(hash, *pw);
        sodium_memzero(pw->data(), pw->size());
        return r ? 1 : 0;
    };
    int ok = co_await run_background(std::move(work));
    co_return ok != 0;
}

}  // namespace rampart::auth
