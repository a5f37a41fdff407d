// console/session_store.hpp — the console's signed-in sessions, held only in the server's
// memory (a restart signs everyone out). Each session has a 256-bit random id (the cookie)
// and its own 256-bit random CSRF token, both from OpenSSL's RAND_bytes.
// Trust: ids arrive from anyone who reaches the admin listener: an unknown, expired or
// destroyed id finds nothing. Bounded: at most `max_sessions`; a new sign-in beyond that
// ends the session idle the longest. A session ends `lifetime` after sign-in or `idle`
// after its last request, whichever comes first. Time comes from an injected clock so the
// tests never sleep. Thread-safe (one mutex).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace rampart::console {

// `bytes` random bytes from OpenSSL's CSPRNG as lower-case hex (2 * bytes characters).
// Throws if the generator fails (never a predictable value).
std::string random_token(std::size_t bytes = 32);

class SessionStore {
public:
    using Clock = std::chrono::steady_clock;
    using Now = std::function<Clock::time_point()>;
    static constexpr std::size_t kDefaultMax = 1000;
    static constexpr std::chrono::minutes kDefaultIdle{30};

    struct Session {
        std::string id;     // the cookie value
        std::string csrf;   // every POST carries it
        std::string user;
        Clock::time_point created{}, last_seen{};
    };

    explicit SessionStore(std::chrono::milliseconds lifetime, std::chrono::milliseconds idle = kDefaultIdle,
                          std::size_t max_sessions = kDefaultMax, Now now = [] { return Clock::now(); });

    // A new session (new id, new CSRF token) for `user`.
    Session create(const std::string& user);
    // The live session of `id` (its idle time starts again), or nullopt; an expired one is
    // removed.
    std::optional<Session> find(const std::string& id);
    void destroy(const std::string& id);
    // A new lifetime (a reload changed console_session_lifetime): applies to every session.
    void set_lifetime(std::chrono::milliseconds lifetime);
    std::size_t size();

private:
    bool expired(const Session& s, Clock::time_point now) const;

    std::chrono::milliseconds lifetime_, idle_;
    std::size_t max_;
    Now now_;
    std::mutex mutex_;
    std::map<std::string, Session, std::less<>> sessions_;
};

}  // namespace rampart::console
