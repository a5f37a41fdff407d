// filter/verdict_cache.hpp — the antivirus agent's memory of recent verdicts (DESIGN.md §11,
// [antivirus] cache_ttl): per engine and per SHA-256 of the bytes that engine scanned, a clean
// or infected result is kept for `ttl`, so a run of the same payload costs one scan per
// engine. Failures are never kept (the next message asks the engine again). Bounded: at most
// `max_entries`, the least recently used dropped first. Thread-safe (one mutex; the agent is
// shared by every session). Trusts its callers; `now` is a parameter so tests control time.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "filter/clamd_reply.hpp"

namespace rampart::filter {

using Sha256 = std::array<unsigned char, 32>;
// SHA-256 (OpenSSL) of `bytes`.
Sha256 sha256(std::string_view bytes);

class VerdictCache {
public:
    using Clock = std::chrono::steady_clock;
    VerdictCache(std::chrono::milliseconds ttl, std::size_t max_entries) : ttl_(ttl), max_(max_entries) {}
    bool enabled() const { return ttl_.count() > 0 && max_ > 0; }
    // The verdict `engine` gave for these bytes within the last ttl, if any.
    std::optional<ClamdReply> get(const std::string& engine, const Sha256& digest, Clock::time_point now = Clock::now());
    // Keeps a Clean or Infected reply (an Error is ignored).
    void put(const std::string& engine, const Sha256& digest, const ClamdReply& reply, Clock::time_point now = Clock::now());
    std::size_t size() const;

private:
    using Key = std::pair<std::string, Sha256>;
    struct Entry {
        ClamdReply reply;
        Clock::time_point expires;
        std::list<Key>::iterator use;   // its place in uses_ (front: most recently used)
    };
    std::chrono::milliseconds ttl_;
    std::size_t max_;
    mutable std::mutex mutex_;
    std::map<Key, Entry> entries_;
    std::list<Key> uses_;
};

}  // namespace rampart::filter
