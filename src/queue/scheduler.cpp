// queue/scheduler.cpp — ready queue, concurrency bound and retry timers.
#include "queue/scheduler.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "queue/spool.hpp"
#include "util/log.hpp"

namespace rampart::queue {

Scheduler::Scheduler(asio::any_io_executor ex, Spool& spool, config::QueueSettings settings, Attempt attempt)
    : ex_(std::move(ex)), spool_(spool), settings_(settings), attempt_(std::move(attempt)) {}

void Scheduler::submit(Envelope env) {
    asio::post(ex_, [this, env = std::move(env)]() mutable {
        ready_.push_back(std::move(env));
        pump();
    });
}

void Scheduler::pump() {
    while (active_ < settings_.delivery_concurrency && !ready_.empty()) {
        Envelope env = std::move(ready_.front());
        ready_.pop_front();
        ++active_;
        asio::co_spawn(ex_, run_one(std::move(env)), asio::detached);
    }
}

asio::awaitable<void> Scheduler::run_one(Envelope env) {
    std::vector<bool> before;
    for (const Recipient& r : env.recipients) before.push_back(r.done);
    try {
        co_await attempt_(env);
    } catch (const std::exception& e) {
        log::error("delivery.exception", {{"qid", env.id}, {"error", e.what()}});
    }
    std::vector<std::size_t> newly;
    bool pending = false;
    for (std::size_t i = 0; i < env.recipients.size(); ++i) {
        if (env.recipients[i].done && !before[i]) newly.push_back(i);
        pending = pending || !env.recipients[i].done;
    }
    if (!pending) {
        spool_.remove(env.id);
        log::info("queue.removed", {{"qid", env.id}, {"reason", "all recipients done"}});
    } else if (!newly.empty()) {
        auto r = co_await spool_.mark_done(env.id, newly);
        if (!r) log::error("spool.mark_done.failed", {{"qid", env.id}, {"error", r.error().message}});
    }
    --active_;
    if (pending) asio::co_spawn(ex_, retry_later(std::move(env)), asio::detached);
    pump();
}

asio::awaitable<void> Scheduler::retry_later(Envelope env) {
    asio::steady_timer t(ex_, settings_.retry_interval);
    std::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    log::info("queue.retry", {{"qid", env.id}});
    ready_.push_back(std::move(env));
    pump();
}

}  // namespace rampart::queue
