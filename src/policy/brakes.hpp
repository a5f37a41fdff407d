// policy/brakes.hpp — the brakes on stolen logins (DESIGN.md §3.7): AUTH failure tarpit,
// lockout per client address and per user name, and hourly message and recipient limits
// per authenticated user.
// Shared by every session on every I/O thread (one mutex; each call is a few map
// operations). Memory is bounded: at most `max_keys` entries per table; expired entries
// are dropped first, then the oldest. Time comes from an injected clock so tests never
// sleep. Pure counting: the session decides what to answer and sleeps on its own timer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "smtp/reply.hpp"

namespace rampart::policy {

class Brakes {
public:
    using Clock = std::chrono::steady_clock;
    using Now = std::function<Clock::time_point()>;
    static constexpr std::chrono::hours kRateWindow{1};

    explicit Brakes(Now now = [] { return Clock::now(); }, std::size_t max_keys = 100000);

    // Lockout keys: "ip:192.0.2.1", "user:alice" (see ip_key/user_key).
    static std::string ip_key(const std::string& address) { return "ip:" + address; }
    static std::string user_key(std::string name);   // lower-cased

    // Time left on a lockout of `key`, or nullopt.
    std::optional<std::chrono::milliseconds> locked(const std::string& key);

    struct Failure {
        std::chrono::milliseconds delay{0};   // tarpit before answering
        std::uint32_t failures = 0;           // failures of the address within the window
        bool locked_ip = false;               // this failure started a lockout
        bool locked_user = false;
    };
    // Records a failed AUTH from `ip_key` for `user_key` ("" if no user name was given).
    Failure auth_failed(const std::string& ip_key, const std::string& user_key, const config::ListenerLimits& limits);
    // A correct password ends the user name's failure count (not the address's).
    void auth_succeeded(const std::string& user_key);

    // Hourly limits per principal ("user:alice"). would_exceed: true if `messages` more
    // messages or `recipients` more recipients go over the listener's limits.
    enum class Limit { None, Messages, Recipients };
    Limit would_exceed(const std::string& principal, std::uint32_t messages, std::uint32_t recipients,
                       const config::ListenerLimits& limits);
    void count(const std::string& principal, std::uint32_t messages, std::uint32_t recipients);

    // The replies, built once: what a client reads while locked out or braked.
    static smtp::Reply lockout_reply();
    static smtp::Reply rate_reply(Limit which);

    std::size_t size();   // entries held (both tables), for tests

private:
    struct AuthEntry {
        Clock::time_point window_start{};
        std::uint32_t failures = 0;
        Clock::time_point locked_until{};
    };
    struct RateEntry {
        Clock::time_point window_start{};
        std::uint64_t messages = 0;
        std::uint64_t recipients = 0;
    };
    AuthEntry& auth_entry(const std::string& key, Clock::time_point now, std::chrono::milliseconds window);
    RateEntry& rate_entry(const std::string& key, Clock::time_point now);
    template <class Map, class Expired>
    void make_room(Map& m, Expired expired);

    Now now_;
    std::size_t max_keys_;
    std::mutex mutex_;
    std::map<std::string, AuthEntry> auth_;
    std::map<std::string, RateEntry> rate_;
};

}  // namespace rampart::policy
