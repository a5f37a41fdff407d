// queue/backoff.cpp — exponential backoff, queue lifetime and delay-notice times.
#include "queue/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace rampart::queue {

std::int64_t retry_delay_ms(const config::QueueSettings& s, std::uint32_t attempts) {
    double first = static_cast<double>(s.retry_interval.count());
    double cap = static_cast<double>(std::max(s.max_retry_interval, s.retry_interval).count());
    // Exponent bounded: the cap is reached long before the double overflows.
    double d = first * std::pow(s.retry_backoff, static_cast<double>(std::min<std::uint32_t>(attempts ? attempts - 1 : 0, 200)));
    return static_cast<std::int64_t>(std::min(d, cap));
}

std::int64_t expiry_ms(const config::QueueSettings& s, std::int64_t received_at) {
    return received_at * 1000 + s.max_lifetime.count();
}

std::int64_t next_attempt_ms(const config::QueueSettings& s, std::int64_t received_at, std::uint32_t attempts,
                             std::int64_t now_ms) {
    return std::min(now_ms + retry_delay_ms(s, attempts), std::max(now_ms, expiry_ms(s, received_at)));
}

bool expired(const config::QueueSettings& s, std::int64_t received_at, std::int64_t now_ms) {
    return now_ms >= expiry_ms(s, received_at);
}

bool delay_warning_due(const config::QueueSettings& s, std::int64_t received_at, std::int64_t now_ms) {
    return s.delay_warning < s.max_lifetime && now_ms >= received_at * 1000 + s.delay_warning.count();
}

}  // namespace rampart::queue
