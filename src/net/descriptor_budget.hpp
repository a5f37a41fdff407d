// net/descriptor_budget.hpp — the descriptors a process keeps for brief use (a spool file
// at commit, a message's incoming file, a filter engine's connection, a DNS socket), shared
// out by lease with a bounded wait.
// Trust: sees only counts; callers say how many descriptors they are about to open.
// Contract: leases granted at once never exceed the capacity (set by the descriptor plan,
// server/fd_limits.hpp), so a holder finds its descriptors; a waiter is served in arrival
// order and never waits longer than it asked: then it gets an empty lease and answers a
// temporary failure (451 4.3.2) instead of hitting EMFILE. Thread-safe: sessions on every
// I/O context share one budget.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>

#include <asio/awaitable.hpp>

namespace rampart::net {

class DescriptorBudget;

// Descriptors held from a budget; given back when the lease is destroyed or reset. An
// empty lease (false) holds nothing: the wait ran out.
class DescriptorLease {
public:
    DescriptorLease() = default;
    DescriptorLease(DescriptorLease&& o) noexcept : budget_(o.budget_), n_(o.n_), granted_(o.granted_) { o.clear(); }
    DescriptorLease& operator=(DescriptorLease&& o) noexcept;
    DescriptorLease(const DescriptorLease&) = delete;
    DescriptorLease& operator=(const DescriptorLease&) = delete;
    ~DescriptorLease() { reset(); }

    // A lease that holds nothing but says yes: where there is no budget (tests, tools).
    static DescriptorLease unlimited();
    explicit operator bool() const { return granted_; }
    std::uint64_t count() const { return n_; }
    void reset();

private:
    friend class DescriptorBudget;
    DescriptorLease(DescriptorBudget* b, std::uint64_t n) : budget_(b), n_(n), granted_(true) {}
    void clear() { budget_ = nullptr, n_ = 0, granted_ = false; }
    DescriptorBudget* budget_ = nullptr;
    std::uint64_t n_ = 0;
    bool granted_ = false;
};

class DescriptorBudget {
public:
    explicit DescriptorBudget(std::uint64_t capacity) : capacity_(capacity), free_(capacity) {}
    DescriptorBudget(const DescriptorBudget&) = delete;
    DescriptorBudget& operator=(const DescriptorBudget&) = delete;

    // `n` descriptors (capped at the capacity, so a request can always be met once the
    // others give theirs back), waiting at most `wait` on the caller's executor (which must
    // be run by one thread, as every rampart I/O context is). Empty lease: none in time.
    asio::awaitable<DescriptorLease> acquire(std::uint64_t n, std::chrono::milliseconds wait);
    // Without waiting: an empty lease if `n` are not free now.
    DescriptorLease try_acquire(std::uint64_t n);

    std::uint64_t capacity() const { return capacity_; }
    std::uint64_t available() const;
    std::uint64_t waiting() const;
    // Leases that ran out of time (`server.descriptors.budget` log, tests).
    std::uint64_t timeouts() const;

private:
    friend class DescriptorLease;
    struct Waiter;
    void give_back(std::uint64_t n);

    const std::uint64_t capacity_;
    mutable std::mutex mu_;
    std::uint64_t free_;
    std::uint64_t timeouts_ = 0;
    std::deque<std::shared_ptr<Waiter>> waiters_;   // arrival order
};

}  // namespace rampart::net
