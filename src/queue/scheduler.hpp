// queue/scheduler.hpp — the queue manager: which message is tried when. Keeps the ready
// queue, runs at most `delivery_concurrency` attempts at once, waits `retry_interval`
// before trying a deferred message again, and records finished recipients in the spool.
// Thread-safety: submit() may be called from any thread; everything else runs on the
// scheduler's executor.
#pragma once

#include <deque>
#include <functional>
#include <memory>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "config/config.hpp"
#include "queue/envelope.hpp"

namespace rampart::queue {

class Spool;

class Scheduler {
public:
    // `attempt` tries every pending recipient once and sets `done` on finished ones.
    using Attempt = std::function<asio::awaitable<void>(Envelope&)>;

    Scheduler(asio::any_io_executor ex, Spool& spool, config::QueueSettings settings, Attempt attempt);

    // A newly accepted or recovered message, ready now.
    void submit(Envelope env);

    std::size_t active() const { return active_; }

private:
    void pump();
    asio::awaitable<void> run_one(Envelope env);
    asio::awaitable<void> retry_later(Envelope env);

    asio::any_io_executor ex_;
    Spool& spool_;
    config::QueueSettings settings_;
    Attempt attempt_;
    std::deque<Envelope> ready_;
    std::size_t active_ = 0;
};

}  // namespace rampart::queue
