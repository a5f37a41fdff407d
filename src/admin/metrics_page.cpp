// admin/metrics_page.cpp — the /metrics response (Prometheus text format 0.0.4).
#include "admin/metrics_page.hpp"

#include <algorithm>
#include <map>

#include "queue/scheduler.hpp"
#include "util/metric_catalog.hpp"

namespace rampart::admin {

HttpResponse metrics_page(const queue::Scheduler& scheduler) {
    metrics::catalog();   // every family is shown, also before its first event
    metrics::Snapshot queue{"rampart_queue_messages",
                            "Messages in the queue now, by state (ready, active, deferred, held, quarantined) and destination "
                            "(domain of the first pending recipient; beyond the largest 100 per state: other).",
                            {"state", "destination"},
                            {}};
    std::map<std::string, std::vector<std::pair<std::string, std::size_t>>> by_state;
    for (const auto& [key, n] : scheduler.counts()) by_state[key.first].emplace_back(key.second, n);
    for (auto& [state, rows] : by_state) {
        std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
        std::size_t other = 0;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            if (i < kMaxDestinations) queue.rows.push_back({{state, rows[i].first}, static_cast<double>(rows[i].second)});
            else other += rows[i].second;
        }
        if (other) queue.rows.push_back({{state, "other"}, static_cast<double>(other)});
    }
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics::process().render({queue});
    return r;
}

}  // namespace rampart::admin
