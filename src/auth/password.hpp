// auth/password.hpp — password hashes: argon2id (libsodium) for new hashes; argon2id and
// yescrypt ("$y$", libcrypt) accepted for verification. Verification is slow on purpose
// (tens of milliseconds): callers on an I/O thread use verify_async.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <asio/awaitable.hpp>

#include "util/result.hpp"

namespace rampart::auth {

Result<std::string> hash_password(std::string_view password);
bool verify_password(const std::string& hash, std::string_view password);

// Runs verify_password on a shared background thread pool and resumes the caller on its
// own executor.
asio::awaitable<bool> verify_async(std::string hash, std::string password);

// Runs blocking `work` (a hash, an LDAP bind) on that pool, never on an I/O thread, and
// resumes the caller on its own executor with the result.
asio::awaitable<int> run_background(std::function<int()> work);

}  // namespace rampart::auth
