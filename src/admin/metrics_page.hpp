// admin/metrics_page.hpp — GET /metrics: the process's metrics (util/metric_catalog.hpp)
// and the queue by state and destination, counted now from the scheduler.
// Contract: call on the scheduler's executor (serve runs the admin listener there, as the
// control socket). At most kMaxDestinations destinations are named per state; the rest
// are summed under destination="other", so a queue for many domains cannot blow up a scrape.
#pragma once

#include "admin/http_server.hpp"

namespace rampart::queue {
class Scheduler;
}

namespace rampart::admin {

inline constexpr std::size_t kMaxDestinations = 100;

HttpResponse metrics_page(const queue::Scheduler& scheduler);

}  // namespace rampart::admin
