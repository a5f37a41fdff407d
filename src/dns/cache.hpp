// dns/cache.hpp — the resolver's answer cache: positive answers kept for their TTL, negative
// answers (NXDOMAIN, NODATA) for the RFC 2308 §5 negative TTL (the SOA's), both capped;
// bounded in entries, the least recently used evicted first. Temporary failures are never
// stored (the resolver does not put them). Pure; not thread-safe (the resolver locks).
// Times are passed in (steady clock) so tests can move them.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dns/message.hpp"

namespace rampart::dns {

// The outcome of one question, as the resolver hands it to callers (see Records in
// resolver.hpp for the status's meaning).
enum class RecordStatus { Found, NoData, NxDomain, Temporary };

struct Answer {
    RecordStatus status = RecordStatus::Temporary;
    std::vector<ResourceRecord> records;   // Found: the records of the type asked, answer order
    std::string error;                     // Temporary: operator-facing
    std::chrono::seconds ttl{0};           // how long it may be kept (what remains, from the cache)
};

class AnswerCache {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::seconds kMaxTtl{86400};            // a day, whatever the zone says
    static constexpr std::chrono::seconds kMaxNegativeTtl{10800};    // RFC 2308 §5: 1–3 hours

    explicit AnswerCache(std::size_t capacity) : capacity_(capacity) {}

    // The answer stored under `key` if it has not expired (its ttl set to what remains);
    // a hit becomes the most recently used entry.
    std::optional<Answer> get(const std::string& key, Clock::time_point now);
    // Stores `a` for a.ttl (capped), evicting the least recently used entry when full. A
    // Temporary answer, a TTL of 0 or a capacity of 0 stores nothing.
    void put(const std::string& key, Answer a, Clock::time_point now);
    std::size_t size() const { return index_.size(); }

private:
    struct Stored {
        std::string key;
        Answer answer;
        Clock::time_point expires;
    };
    std::size_t capacity_;
    std::list<Stored> lru_;   // front: most recently used
    std::unordered_map<std::string, std::list<Stored>::iterator> index_;
};

}  // namespace rampart::dns
