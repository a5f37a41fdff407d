// queue/backoff.hpp — when a deferred message is tried next, when it expires and when its
// delay notice is due. Pure functions of the settings and explicit times (unix ms), so
// they are tested without a clock.
#pragma once

#include <cstdint>

#include "config/config.hpp"

namespace rampart::queue {

// Delay after the `attempts`-th attempt that left recipients deferred (attempts >= 1):
// retry_interval × retry_backoff^(attempts-1), at most max_retry_interval.
std::int64_t retry_delay_ms(const config::QueueSettings& s, std::uint32_t attempts);

// Unix ms after which still-deferred recipients of a message received at `received_at`
// (unix seconds) bounce.
std::int64_t expiry_ms(const config::QueueSettings& s, std::int64_t received_at);

// When to try next after the `attempts`-th deferral at `now_ms`: now + retry_delay_ms,
// but never later than the expiry (the last attempt happens at the expiry time).
std::int64_t next_attempt_ms(const config::QueueSettings& s, std::int64_t received_at, std::uint32_t attempts,
                             std::int64_t now_ms);

bool expired(const config::QueueSettings& s, std::int64_t received_at, std::int64_t now_ms);

// A delay notice is due once the message is delay_warning old, if it expires later.
bool delay_warning_due(const config::QueueSettings& s, std::int64_t received_at, std::int64_t now_ms);

}  // namespace rampart::queue
