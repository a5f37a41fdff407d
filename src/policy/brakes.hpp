// policy/brakes.hpp — the brakes on stolen logins (DESIGN.md §3.7): AUTH failure tarpit,
// lockout per client address and per user name, and hourly message and recipient limits
// per authenticated user.
// Shared by every session on every I/O thread (one mutex; each call is a few map
// operations). Memory is bounded: at most `max_keys` entries per table; expired entries
// are dropped first, then the oldest. Time comes from an injected clock so tests never
// sleep. Pure counting: the session decides what to answer and sleeps on its own timer.
// Races: a check and the count it depends on are one step under the mutex. An AUTH
// credential check is an Attempt that holds a slot from before the check until its
// outcome is recorded, so no more than auth_lockout_failures checks are ever in flight
// or failed per key; a sending limit is a Reservation taken at MAIL/RCPT, committed when
// the message is queued and given back when the transaction ends without it.
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

    // One credential check in flight (RAII): begun by begin_attempt, ended by failed() or
    // succeeded(); destroyed without either (cancel, syntax error, directory unavailable,
    // disconnect) it gives its slot back without counting anything.
    class Attempt {
    public:
        Attempt() = default;
        Attempt(Attempt&& o) noexcept { *this = std::move(o); }
        Attempt& operator=(Attempt&& o) noexcept;
        Attempt(const Attempt&) = delete;
        Attempt& operator=(const Attempt&) = delete;
        ~Attempt() { release(); }
        bool active() const { return brakes_ != nullptr; }
        // Records the failure (as auth_failed; `user_key` may name a user learnt only now,
        // e.g. a Kerberos principal) and gives the slot back, in one step.
        Failure failed(const std::string& user_key, const config::ListenerLimits& limits);
        // The credential was right: true if the session may answer 235, false if the address
        // or `user_key` was locked out meanwhile (by a concurrent failure) — then nothing
        // is cleared and the caller answers lockout_reply(). Gives the slot back.
        bool succeeded(const std::string& user_key);
        void release();

    private:
        friend class Brakes;
        Brakes* brakes_ = nullptr;
        std::string ip_key_, user_key_;
    };
    struct Begin {
        Attempt attempt;                       // active: go ahead and check the credential
        std::string blocked;                   // otherwise: the key that refused ("ip:..", "user:..")
        std::chrono::milliseconds retry{0};    // time left on its lockout; 0: attempts in flight
        bool ok() const { return attempt.active(); }
    };
    // Checks the lockout of `ip_key` and `user_key` ("" if not known yet) and, in the same
    // step, takes a slot for each: refused while locked out, or while failures + attempts
    // in flight already reach auth_lockout_failures (0: no lockout, only the lockout check).
    Begin begin_attempt(const std::string& ip_key, const std::string& user_key, const config::ListenerLimits& limits);

    // Hourly limits per principal ("user:alice"). would_exceed: true if `messages` more
    // messages or `recipients` more recipients go over the listener's limits.
    enum class Limit { None, Messages, Recipients };
    // What a principal used this hour, with what open transactions hold.
    struct Usage {
        std::uint64_t messages = 0;
        std::uint64_t recipients = 0;
    };
    Usage usage(const std::string& principal);
    // The one comparison: would `messages` and `recipients` more on top of `used` go over
    // the limits (0: no limit)? reserve() and would_exceed() decide with it, and so does
    // `rampart explain` with the usage a running server reports.
    static Limit exceeds(const Usage& used, std::uint32_t messages, std::uint32_t recipients,
                         const config::ListenerLimits& limits);
    Limit would_exceed(const std::string& principal, std::uint32_t messages, std::uint32_t recipients,
                       const config::ListenerLimits& limits);
    void count(const std::string& principal, std::uint32_t messages, std::uint32_t recipients);

    // Messages and recipients a transaction holds against its principal's hourly limits
    // (RAII). reserve() checks and takes in one step, counting what others hold too;
    // commit() turns everything held into sent (the spool commit); whatever is held when
    // it is destroyed or reset is given back (RSET, refusal, abort, disconnect).
    class Reservation {
    public:
        Reservation() = default;
        Reservation(Reservation&& o) noexcept { *this = std::move(o); }
        Reservation& operator=(Reservation&& o) noexcept;
        Reservation(const Reservation&) = delete;
        Reservation& operator=(const Reservation&) = delete;
        ~Reservation() { release(); }
        // Limit::None: `messages` and `recipients` more are now held by this reservation.
        Limit reserve(Brakes& brakes, const std::string& principal, std::uint32_t messages, std::uint32_t recipients,
                      const config::ListenerLimits& limits);
        void commit();
        void release();
        std::uint32_t messages() const { return messages_; }
        std::uint32_t recipients() const { return recipients_; }

    private:
        Brakes* brakes_ = nullptr;
        std::string principal_;
        std::uint32_t messages_ = 0, recipients_ = 0;
    };

    // The replies, built once: what a client reads while locked out or braked.
    static smtp::Reply lockout_reply();
    static smtp::Reply busy_reply();   // begin_attempt refused without a lockout
    static smtp::Reply rate_reply(Limit which);

    std::size_t size();   // entries held (both tables), for tests

private:
    struct AuthEntry {
        Clock::time_point window_start{};
        std::uint32_t failures = 0;
        Clock::time_point locked_until{};
        std::uint32_t in_flight = 0;   // Attempts begun and not yet ended
    };
    struct RateEntry {
        Clock::time_point window_start{};
        std::uint64_t messages = 0;
        std::uint64_t recipients = 0;
        std::uint64_t held_messages = 0;     // reserved by open transactions
        std::uint64_t held_recipients = 0;
    };
    Failure record_failure(const std::string& ip_key, const std::string& user_key, const config::ListenerLimits& limits);
    void end_attempt(const std::string& ip_key, const std::string& user_key);   // mutex held
    // `keep`: a key that must survive making room (the other key of the same step).
    AuthEntry& auth_entry(const std::string& key, Clock::time_point now, std::chrono::milliseconds window,
                          const std::string& keep = {});
    RateEntry& rate_entry(const std::string& key, Clock::time_point now);
    template <class Map, class Expired>
    void make_room(Map& m, Expired expired, const std::string& keep = {});

    Now now_;
    std::size_t max_keys_;
    std::mutex mutex_;
    std::map<std::string, AuthEntry> auth_;
    std::map<std::string, RateEntry> rate_;
};

}  // namespace rampart::policy
