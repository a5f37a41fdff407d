// policy/brakes.cpp — fixed-window counters for AUTH failures and hourly sending.
#include "policy/brakes.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <utility>

namespace rampart::policy {

using std::chrono::milliseconds;

Brakes::Brakes(Now now, std::size_t max_keys) : now_(std::move(now)), max_keys_(std::max<std::size_t>(max_keys, 1)) {}

std::string Brakes::user_key(std::string name) {
    return "user:" + util::ascii_lower(name);
}

template <class Map, class Expired>
void Brakes::make_room(Map& m, Expired expired, const std::string& keep) {
    if (m.size() < max_keys_) return;
    std::erase_if(m, [&](const auto& kv) { return kv.first != keep && expired(kv.second); });
    if (m.size() < max_keys_) return;
    // Still full of live entries: forget the one whose window began first. (An entry with
    // attempts or reservations outstanding may go too: their ends then find nothing to
    // give back, which only errs towards the client; memory stays bounded.)
    auto oldest = m.end();
    for (auto it = m.begin(); it != m.end(); ++it)
        if (it->first != keep && (oldest == m.end() || it->second.window_start < oldest->second.window_start)) oldest = it;
    if (oldest != m.end()) m.erase(oldest);
}

Brakes::AuthEntry& Brakes::auth_entry(const std::string& key, Clock::time_point now, milliseconds window,
                                      const std::string& keep) {
    auto it = auth_.find(key);
    if (it == auth_.end()) {
        make_room(auth_, [&](const AuthEntry& e) {
            return now - e.window_start >= window && now >= e.locked_until && e.in_flight == 0;
        }, keep);
        it = auth_.emplace(key, AuthEntry{now, 0, {}, 0}).first;
    }
    AuthEntry& e = it->second;
    if (now - e.window_start >= window && now >= e.locked_until) e = AuthEntry{now, 0, {}, e.in_flight};
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
    return record_failure(ip_key, user_key, limits);
}

Brakes::Failure Brakes::record_failure(const std::string& ip_key, const std::string& user_key, const config::ListenerLimits& limits) {
    Clock::time_point now = now_();
    Failure f;
    auto record = [&](const std::string& key, bool& started) -> std::uint32_t {
        AuthEntry& e = auth_entry(key, now, limits.auth_lockout_window, key == ip_key ? user_key : ip_key);
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
    if (it == auth_.end() || now_() < it->second.locked_until) return;
    if (it->second.in_flight == 0) auth_.erase(it);
    else it->second.failures = 0;   // others' attempts still hold their slots
}

Brakes::Begin Brakes::begin_attempt(const std::string& ip_key, const std::string& user_key, const config::ListenerLimits& limits) {
    std::lock_guard lock(mutex_);
    Clock::time_point now = now_();
    Begin b;
    AuthEntry* entries[2] = {&auth_entry(ip_key, now, limits.auth_lockout_window, user_key), nullptr};
    if (!user_key.empty()) entries[1] = &auth_entry(user_key, now, limits.auth_lockout_window, ip_key);
    const std::string* keys[2] = {&ip_key, &user_key};
    for (int i = 0; i < 2; ++i) {
        AuthEntry* e = entries[i];
        if (!e) continue;
        if (now < e->locked_until) {
            b.blocked = *keys[i];
            b.retry = std::chrono::duration_cast<milliseconds>(e->locked_until - now);
            return b;
        }
        // Every check in flight may fail: never start more than the lockout allows.
        if (limits.auth_lockout_failures > 0 && e->failures + e->in_flight >= limits.auth_lockout_failures) {
            b.blocked = *keys[i];
            return b;
        }
    }
    for (AuthEntry* e : entries)
        if (e) ++e->in_flight;
    b.attempt.brakes_ = this;
    b.attempt.ip_key_ = ip_key;
    b.attempt.user_key_ = user_key;
    return b;
}

void Brakes::end_attempt(const std::string& ip_key, const std::string& user_key) {
    for (const std::string* k : std::initializer_list<const std::string*>{&ip_key, &user_key}) {
        if (k->empty()) continue;
        auto it = auth_.find(*k);
        if (it != auth_.end() && it->second.in_flight > 0) --it->second.in_flight;
    }
}

Brakes::Attempt& Brakes::Attempt::operator=(Attempt&& o) noexcept {
    if (this != &o) {
        release();
        brakes_ = std::exchange(o.brakes_, nullptr);
        ip_key_ = std::move(o.ip_key_);
        user_key_ = std::move(o.user_key_);
    }
    return *this;
}

void Brakes::Attempt::release() {
    if (!brakes_) return;
    std::lock_guard lock(brakes_->mutex_);
    brakes_->end_attempt(ip_key_, user_key_);
    brakes_ = nullptr;
}

Brakes::Failure Brakes::Attempt::failed(const std::string& user_key, const config::ListenerLimits& limits) {
    if (!brakes_) return {};
    Brakes* b = std::exchange(brakes_, nullptr);
    std::lock_guard lock(b->mutex_);
    b->end_attempt(ip_key_, user_key_);
    return b->record_failure(ip_key_, user_key.empty() ? user_key_ : user_key, limits);
}

bool Brakes::Attempt::succeeded(const std::string& user_key) {
    if (!brakes_) return true;
    Brakes* b = std::exchange(brakes_, nullptr);
    std::lock_guard lock(b->mutex_);
    b->end_attempt(ip_key_, user_key_);
    Clock::time_point now = b->now_();
    for (const std::string* k : std::initializer_list<const std::string*>{&ip_key_, &user_key_, &user_key}) {
        auto it = k->empty() ? b->auth_.end() : b->auth_.find(*k);
        if (it != b->auth_.end() && now < it->second.locked_until) return false;   // locked meanwhile
    }
    if (!user_key.empty()) {
        auto it = b->auth_.find(user_key);
        if (it != b->auth_.end()) {
            if (it->second.in_flight == 0) b->auth_.erase(it);
            else it->second.failures = 0;
        }
    }
    return true;
}

Brakes::RateEntry& Brakes::rate_entry(const std::string& key, Clock::time_point now) {
    auto it = rate_.find(key);
    if (it == rate_.end()) {
        make_room(rate_, [&](const RateEntry& e) {
            return now - e.window_start >= kRateWindow && e.held_messages == 0 && e.held_recipients == 0;
        });
        it = rate_.emplace(key, RateEntry{now, 0, 0, 0, 0}).first;
    }
    RateEntry& e = it->second;
    // A new window forgets what was sent, not what open transactions hold.
    if (now - e.window_start >= kRateWindow) e = RateEntry{now, 0, 0, e.held_messages, e.held_recipients};
    return e;
}

Brakes::Limit Brakes::would_exceed(const std::string& principal, std::uint32_t messages, std::uint32_t recipients,
                                   const config::ListenerLimits& limits) {
    std::lock_guard lock(mutex_);
    Clock::time_point now = now_();
    auto it = rate_.find(principal);
    std::uint64_t sent = 0, reached = 0;
    if (it != rate_.end()) {
        bool current = now - it->second.window_start < kRateWindow;
        sent = (current ? it->second.messages : 0) + it->second.held_messages;
        reached = (current ? it->second.recipients : 0) + it->second.held_recipients;
    }
    return exceeds(Usage{sent, reached}, messages, recipients, limits);
}

Brakes::Usage Brakes::usage(const std::string& principal) {
    std::lock_guard lock(mutex_);
    auto it = rate_.find(principal);
    if (it == rate_.end()) return {};
    bool current = now_() - it->second.window_start < kRateWindow;
    return Usage{(current ? it->second.messages : 0) + it->second.held_messages,
                 (current ? it->second.recipients : 0) + it->second.held_recipients};
}

Brakes::Limit Brakes::exceeds(const Usage& used, std::uint32_t messages, std::uint32_t recipients,
                              const config::ListenerLimits& limits) {
    if (limits.max_messages_per_hour > 0 && used.messages + messages > limits.max_messages_per_hour) return Limit::Messages;
    if (limits.max_recipients_per_hour > 0 && used.recipients + recipients > limits.max_recipients_per_hour)
        return Limit::Recipients;
    return Limit::None;
}

Brakes::Reservation& Brakes::Reservation::operator=(Reservation&& o) noexcept {
    if (this != &o) {
        release();
        brakes_ = std::exchange(o.brakes_, nullptr);
        principal_ = std::move(o.principal_);
        messages_ = std::exchange(o.messages_, 0);
        recipients_ = std::exchange(o.recipients_, 0);
    }
    return *this;
}

Brakes::Limit Brakes::Reservation::reserve(Brakes& brakes, const std::string& principal, std::uint32_t messages,
                                           std::uint32_t recipients, const config::ListenerLimits& limits) {
    if (brakes_ && (brakes_ != &brakes || principal_ != principal)) release();
    std::lock_guard lock(brakes.mutex_);
    RateEntry& e = brakes.rate_entry(principal, brakes.now_());
    if (Limit hit = exceeds(Usage{e.messages + e.held_messages, e.recipients + e.held_recipients}, messages, recipients, limits);
        hit != Limit::None)
        return hit;
    e.held_messages += messages;
    e.held_recipients += recipients;
    brakes_ = &brakes;
    principal_ = principal;
    messages_ += messages;
    recipients_ += recipients;
    return Limit::None;
}

void Brakes::Reservation::commit() {
    if (!brakes_) return;
    Brakes* b = std::exchange(brakes_, nullptr);
    std::lock_guard lock(b->mutex_);
    RateEntry& e = b->rate_entry(principal_, b->now_());
    e.held_messages -= std::min<std::uint64_t>(e.held_messages, messages_);
    e.held_recipients -= std::min<std::uint64_t>(e.held_recipients, recipients_);
    e.messages += messages_;
    e.recipients += recipients_;
    messages_ = recipients_ = 0;
}

void Brakes::Reservation::release() {
    if (!brakes_) return;
    Brakes* b = std::exchange(brakes_, nullptr);
    std::lock_guard lock(b->mutex_);
    auto it = b->rate_.find(principal_);
    if (it != b->rate_.end()) {
        it->second.held_messages -= std::min<std::uint64_t>(it->second.held_messages, messages_);
        it->second.held_recipients -= std::min<std::uint64_t>(it->second.held_recipients, recipients_);
    }
    messages_ = recipients_ = 0;
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

smtp::Reply Brakes::busy_reply() {
    return smtp::Reply(454, "4.7.0", "too many authentication attempts in progress; try again later");
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
