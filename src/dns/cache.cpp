// dns/cache.cpp — see cache.hpp.
#include "dns/cache.hpp"

#include <algorithm>

namespace rampart::dns {

std::optional<Answer> AnswerCache::get(const std::string& key, Clock::time_point now) {
    auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    if (it->second->expires <= now) {
        lru_.erase(it->second);
        index_.erase(it);
        return std::nullopt;
    }
    lru_.splice(lru_.begin(), lru_, it->second);
    Answer a = it->second->answer;
    a.ttl = std::chrono::ceil<std::chrono::seconds>(it->second->expires - now);
    return a;
}

void AnswerCache::put(const std::string& key, Answer a, Clock::time_point now) {
    if (capacity_ == 0 || a.status == RecordStatus::Temporary) return;
    std::chrono::seconds cap = a.status == RecordStatus::Found ? kMaxTtl : kMaxNegativeTtl;
    a.ttl = std::min(a.ttl, cap);
    if (a.ttl.count() <= 0) return;
    Clock::time_point expires = now + a.ttl;
    if (auto it = index_.find(key); it != index_.end()) {
        it->second->answer = std::move(a);
        it->second->expires = expires;
        lru_.splice(lru_.begin(), lru_, it->second);
        return;
    }
    while (index_.size() >= capacity_) {
        index_.erase(lru_.back().key);
        lru_.pop_back();
    }
    lru_.push_front(Stored{key, std::move(a), expires});
    index_.emplace(key, lru_.begin());
}

}  // namespace rampart::dns
