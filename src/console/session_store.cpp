// console/session_store.cpp — the session store (see the header).
#include "console/session_store.hpp"

#include <iterator>
#include <stdexcept>
#include <vector>

#include <openssl/rand.h>

namespace rampart::console {

std::string random_token(std::size_t bytes) {
    std::vector<unsigned char> raw(bytes);
    if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) throw std::runtime_error("RAND_bytes failed");
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes * 2);
    for (unsigned char c : raw) {
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
    return out;
}

SessionStore::SessionStore(std::chrono::milliseconds lifetime, std::chrono::milliseconds idle, std::size_t max_sessions, Now now)
    : lifetime_(lifetime), idle_(idle), max_(max_sessions == 0 ? 1 : max_sessions), now_(std::move(now)) {}

bool SessionStore::expired(const Session& s, Clock::time_point now) const {
    return now - s.created >= lifetime_ || now - s.last_seen >= idle_;
}

SessionStore::Session SessionStore::create(const std::string& user) {
    Session s;
    s.id = random_token();
    s.csrf = random_token();
    s.user = user;
    std::lock_guard lock(mutex_);
    s.created = s.last_seen = now_();
    for (auto it = sessions_.begin(); it != sessions_.end();) it = expired(it->second, s.created) ? sessions_.erase(it) : std::next(it);
    while (sessions_.size() >= max_) {
        auto oldest = sessions_.begin();
        for (auto it = sessions_.begin(); it != sessions_.end(); ++it)
            if (it->second.last_seen < oldest->second.last_seen) oldest = it;
        sessions_.erase(oldest);
    }
    sessions_[s.id] = s;
    return s;
}

std::optional<SessionStore::Session> SessionStore::find(const std::string& id) {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return std::nullopt;
    Clock::time_point now = now_();
    if (expired(it->second, now)) {
        sessions_.erase(it);
        return std::nullopt;
    }
    it->second.last_seen = now;
    return it->second;
}

void SessionStore::destroy(const std::string& id) {
    std::lock_guard lock(mutex_);
    sessions_.erase(id);
}

void SessionStore::set_lifetime(std::chrono::milliseconds lifetime) {
    std::lock_guard lock(mutex_);
    lifetime_ = lifetime;
}

std::size_t SessionStore::size() {
    std::lock_guard lock(mutex_);
    return sessions_.size();
}

}  // namespace rampart::console
