// net/accept_backoff.hpp — back-off for a failing accept(2) (EMFILE, ENFILE, ENOBUFS, ...),
// shared by every accept loop of the server (SMTP listeners, the control socket, local
// submission, the admin listener, the edge's replication listener), so none of them spins
// while descriptors are short.
// Contract: the delay grows from 100 ms to 1 s; an episode is logged once at its start
// (net.accept.backoff, warning) and once at its end (net.accept.resumed, with the number of
// failures), each failure only at debug level (net.accept.retry). One per acceptor.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <system_error>

#include <asio/awaitable.hpp>

namespace rampart::net {

class AcceptBackoff {
public:
    static constexpr std::chrono::milliseconds kFirst{100};
    static constexpr std::chrono::milliseconds kMax{1000};

    // `listener`: the name logged ("internet", "control", "admin", ...).
    explicit AcceptBackoff(std::string listener = {}) : listener_(std::move(listener)) {}

    // One more failure; returns how long to wait before accepting again (pure).
    std::chrono::milliseconds failed();
    // Failures so far in this episode (1 right after the first).
    std::uint64_t failures() const { return failures_; }
    // accept succeeded: ends the episode; returns its failures (0 if there was none) (pure).
    std::uint64_t succeeded();

    // After a failed accept: counts it, logs as the contract says and waits the delay on
    // the calling coroutine's executor.
    asio::awaitable<void> wait_after(std::error_code error);
    // After an accept that worked: ends an episode, logging it if there was one.
    void accepted();

private:
    std::string listener_;
    std::chrono::milliseconds delay_{0};
    std::uint64_t failures_ = 0;
};

}  // namespace rampart::net
