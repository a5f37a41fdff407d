// net/accept_backoff.cpp — the accept loops' back-off (see the header).
#include "net/accept_backoff.hpp"

#include <algorithm>

#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "util/log.hpp"

namespace rampart::net {

std::chrono::milliseconds AcceptBackoff::failed() {
    ++failures_;
    delay_ = delay_.count() == 0 ? kFirst : std::min(kMax, delay_ * 2);
    return delay_;
}

std::uint64_t AcceptBackoff::succeeded() {
    std::uint64_t n = failures_;
    failures_ = 0;
    delay_ = std::chrono::milliseconds(0);
    return n;
}

asio::awaitable<void> AcceptBackoff::wait_after(std::error_code error) {
    auto delay = failed();
    if (failures_ == 1)
        log::warn("net.accept.backoff", {{"listener", listener_}, {"error", error.message()}, {"delay_ms", delay.count()},
                                         {"max_delay_ms", kMax.count()}});
    // Each failure at debug level only (tests count them; the default log stays quiet).
    log::event(log::Level::Debug, "net.accept.retry", {{"listener", listener_}, {"failures", failures_}, {"delay_ms", delay.count()}});
    asio::steady_timer t(co_await asio::this_coro::executor, delay);
    std::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

void AcceptBackoff::accepted() {
    if (std::uint64_t n = succeeded()) log::info("net.accept.resumed", {{"listener", listener_}, {"failures", n}});
}

}  // namespace rampart::net
