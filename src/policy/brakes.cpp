// policy/brakes.cpp — fixed-window counters for AUTH failures and hourly sending.
#include "policy/brakes.hpp"
#include "util/text.hpp"

#include <algorithm>

namespace rampart::policy {

using std::chrono::milliseconds;

Brakes::Brakes(Now now, std::size_t max_keys) : now_(std::move(now)), max_keys_(std::max<std::size_t>(max_keys, 1)) {}

std::string Brakes::user_key(std::string name) {
    return "user:" + util::ascii_lower(name);
}

template <class Map, class Expired>
void Brakes::make_room(Map& m, Expired expired) {
    if (m.size() < max_keys_) return;
    std::erase_if(m, [&](const auto& kv) { return expired(kv.second); });
    if (m.size() < max_keys_) return;
    // Still full of live entries: forget the one whose window began first.
    auto oldest = std::min_element(m.begin(), m.end(), [](const auto& a, const auto& b) {
        return a.second.window_start < b.second.window_start;
    });
    m.erase(oldest);
}

Brakes::AuthEntry& Brakes::auth_entry(const std::string& key, Clock::time_point now, milliseconds window) {
    auto it = auth_.find(key);
    if (it == auth_.end()) {
        make_room(auth_, [&](const AuthEntry& e) { return now - e.window_start >= window && now >= e.locked_until; });
        it = auth_.emplace(key, AuthEntry{now, 0, {}}).first;
    }
    AuthEntry& e = it->second;
    if (now - e.window_start >= window && now >= e.locked_until) e = AuthEntry{now, 0, {}};
    return e;
}

std::optional<milliseconds> Brakes::locked(const std::string& key) {
    std::lock_guard lock(mutex_);
    auto it = auth_.find(key);
    if (it == auth_.end()) return std::nullopt;
    Clock::time_point now = now_();
    if (now >= it->second.locked_until) return std::nullopt;
    return std::chrono::duration_cast<milliseconds>(it->second.locked_until - now);
}

Brakes::Failure Brakes::auth_failed(const std::string& ip_key, const std::string& user_key, const config::ListenerLimits& limits) {
    std::lock_guard lock(mutex_);
    Clock::time_point now = now_();
    Failure f;
    auto record = [&](const std::string& key, bool& started) -> std::uint32_t {
        AuthEntry& e = auth_entry(key, now, limits.auth_lockout_window);
        ++e.failures;
        if (limits.auth_lockout_failures > 0 && e.failures >= limits.auth_lockout_failures && now >= e.locked_until) {
            e.locked_until = now + limits.auth_lockout_window;
            started = true;
        }
        return e.failures;
    };
    f.failures = record(ip_key, f.locked_ip);
    if (!user_key.empty()) record(user_key, f.locked_user);
    // Tarpit: the base delay, doubled for each earlier failure from this address, capped.
    if (limits.auth_failure_delay.count() > 0) {
        milliseconds d = limits.auth_failure_delay;
        for (std::uint32_t i = 1; i < f.failures && d < limits.auth_failure_delay_max; ++i) d *= 2;
        f.delay = std::min(d, limits.auth_failure_delay_max);
    }
    return f;
}

void Brakes::auth_succeeded(const std::string& user_key) {
    std::lock_guard lock(mutex_);
    auto it = auth_.find(user_key);
    if (it != auth_.end() && now_() >= it->second.locked_until) auth_.erase(it);
}

Brakes::RateEntry& Brakes::rate_entry(const std::string& key, Clock::time_point now) {
    auto it = rate_.find(key);
    if (it == rate_.end()) {
        make_room(rate_, [&](const RateEntry& e) { return now - e.window_start >= kRateWindow; });
        it = rate_.emplace(key, RateEntry{now, 0, 0}).first;
    }
    if (now - it->second.window_start >= kRateWindow) it->second = RateEntry{now, 0, 0};
    return it->second;
}

Brakes::Limit Brakes::would_exceed(const std::string& principal, std::uint32_t messages, std::uint32_t recipients,
                                   const config::ListenerLimits& limits) {
    std::lock_guard lock(mutex_);
    Clock::time_point now = now_();
    auto it = rate_.find(principal);
    std::uint64_t sent = 0, reached = 0;
    if (it != rate_.end() && now - it->second.window_start < kRateWindow) {
        sent = it->second.messages;
        reached = it->second.recipients;
    }
    if (limits.max_messages_per_hour > 0 && sent + messages > limits.max_messages_per_hour) return Limit::Messages;
    if (limits.max_recipients_per_hour > 0 && reached + recipients > limits.max_recipients_per_hour) return Limit::Recipients;
    return Limit::None;
}

void Brakes::count(const std::string& principal, std::uint32_t messages, std::uint32_t recipients) {
    std::lock_guard lock(mutex_);
    RateEntry& e = rate_entry(principal, now_());
    e.messages += messages;
    e.recipients += recipients;
}

smtp::Reply Brakes::lockout_reply() {
    // RFC 4954 §6: 454 4.7.0 temporary authentication failure.
    return smtp::Reply(454, "4.7.0", "too many authentication failures; try again later");
}

smtp::Reply Brakes::rate_reply(Limit which) {
    // RFC 3463 X.7.1: not authorized (for now); 450 so that a legitimate sender retries later.
    if (which == Limit::Recipients)
        return smtp::Reply(450, "4.7.1", "hourly recipient limit reached for this user; try again later");
    return smtp::Reply(450, "4.7.1", "hourly message limit reached for this user; try again later");
}

std::size_t Brakes::size() {
    std::lock_guard lock(mutex_);
    return auth_.size() + rate_.size();
}

}  // namespace rampart::policy
