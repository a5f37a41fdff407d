#include "net/descriptor_budget.hpp"

#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <gtest/gtest.h>

using namespace rampart;
using std::chrono::milliseconds;

namespace {
// Runs `body` as a coroutine on `io` (one thread: this one) until it and all others end.
template <class F>
void spawn(asio::io_context& io, F body) {
    asio::co_spawn(io, std::move(body), asio::detached);
}
}  // namespace

TEST(DescriptorBudget, GrantsUpToTheCapacityAndTakesBack) {
    net::DescriptorBudget b(5);
    net::DescriptorLease one = b.try_acquire(2);
    ASSERT_TRUE(one);
    EXPECT_EQ(b.available(), 3u);
    net::DescriptorLease two = b.try_acquire(3);
    ASSERT_TRUE(two);
    EXPECT_FALSE(b.try_acquire(1));   // all taken
    one.reset();
    EXPECT_EQ(b.available(), 2u);
    net::DescriptorLease moved = std::move(two);
    EXPECT_FALSE(two);
    EXPECT_EQ(b.available(), 2u);   // a move neither frees nor takes
    { net::DescriptorLease gone = std::move(moved); }
    EXPECT_EQ(b.available(), 5u);
    // A request above the capacity is capped, so it can be met once the others are back.
    net::DescriptorLease big = b.try_acquire(50);
    ASSERT_TRUE(big);
    EXPECT_EQ(big.count(), 5u);
}

TEST(DescriptorBudget, AWaiterGetsTheLeaseGivenBack) {
    asio::io_context io(1);
    net::DescriptorBudget b(2);
    std::optional<net::DescriptorLease> held(b.try_acquire(2));
    ASSERT_TRUE(*held);
    bool got = false;
    spawn(io, [&]() -> asio::awaitable<void> {
        // The wait is long; only the lease given back ends it (no timing in the assertion).
        net::DescriptorLease l = co_await b.acquire(2, milliseconds(60'000));
        got = static_cast<bool>(l);
    });
    io.poll();   // the waiter is queued
    EXPECT_EQ(b.waiting(), 1u);
    EXPECT_FALSE(got);
    held.reset();   // gives 2 back: granted to the waiter at once
    EXPECT_EQ(b.available(), 0u);
    io.run();
    EXPECT_TRUE(got);
    EXPECT_EQ(b.available(), 2u);   // and back again when its lease ended
    EXPECT_EQ(b.timeouts(), 0u);
}

TEST(DescriptorBudget, TheWaitIsBoundedAndThenEmpty) {
    asio::io_context io(1);
    net::DescriptorBudget b(1);
    net::DescriptorLease held = b.try_acquire(1);
    std::optional<bool> got;
    spawn(io, [&]() -> asio::awaitable<void> {
        net::DescriptorLease l = co_await b.acquire(1, milliseconds(10));
        got = static_cast<bool>(l);
    });
    io.run();   // ends only because the wait is bounded
    ASSERT_TRUE(got.has_value());
    EXPECT_FALSE(*got);
    EXPECT_EQ(b.waiting(), 0u);
    EXPECT_EQ(b.timeouts(), 1u);
    held.reset();
    EXPECT_EQ(b.available(), 1u);   // the timed-out waiter took nothing
}

TEST(DescriptorBudget, WaitersAreServedInArrivalOrderAcrossThreads) {
    // Two I/O contexts on two threads share one budget of 1; 200 leases taken in turn, each
    // given back at once: every waiter is served, none twice, and none waits for ever.
    net::DescriptorBudget b(1);
    asio::io_context a(1), c(1);
    std::atomic<int> served{0};
    std::atomic<int> concurrent{0}, most{0};
    auto worker = [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 100; ++i) {
            net::DescriptorLease l = co_await b.acquire(1, milliseconds(60'000));
            if (!l) continue;
            int now = ++concurrent;
            int m = most.load();
            while (now > m && !most.compare_exchange_weak(m, now)) {
            }
            ++served;
            --concurrent;
        }
    };
    spawn(a, worker);
    spawn(c, worker);
    std::thread t([&] { c.run(); });
    a.run();
    t.join();
    EXPECT_EQ(served.load(), 200);
    EXPECT_EQ(most.load(), 1);   // never more leases than the capacity
    EXPECT_EQ(b.available(), 1u);
}
