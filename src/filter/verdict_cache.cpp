// filter/verdict_cache.cpp — the verdict cache (see verdict_cache.hpp).
#include "filter/verdict_cache.hpp"

#include <openssl/evp.h>

namespace rampart::filter {

Sha256 sha256(std::string_view bytes) {
    Sha256 out{};
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), out.data(), &len, EVP_sha256(), nullptr);
    return out;
}

std::optional<ClamdReply> VerdictCache::get(const std::string& engine, const Sha256& digest, Clock::time_point now) {
    if (!enabled()) return std::nullopt;
    std::lock_guard lock(mutex_);
    auto it = entries_.find(Key(engine, digest));
    if (it == entries_.end()) return std::nullopt;
    if (now >= it->second.expires) {
        uses_.erase(it->second.use);
        entries_.erase(it);
        return std::nullopt;
    }
    uses_.splice(uses_.begin(), uses_, it->second.use);
    return it->second.reply;
}

void VerdictCache::put(const std::string& engine, const Sha256& digest, const ClamdReply& reply, Clock::time_point now) {
    if (!enabled() || reply.kind == ClamdReply::Kind::Error) return;
    std::lock_guard lock(mutex_);
    Key key(engine, digest);
    if (auto it = entries_.find(key); it != entries_.end()) {
        uses_.erase(it->second.use);
        entries_.erase(it);
    }
    while (entries_.size() >= max_ && !uses_.empty()) {
        entries_.erase(uses_.back());
        uses_.pop_back();
    }
    uses_.push_front(key);
    entries_.emplace(std::move(key), Entry{reply, now + ttl_, uses_.begin()});
}

std::size_t VerdictCache::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

}  // namespace rampart::filter
