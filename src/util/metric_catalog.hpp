// util/metric_catalog.hpp — every metric rampart exports, declared once (names, help, labels,
// buckets), as settings.cpp declares every setting; docs/metrics.md lists the same.
// Each module updates its own with one call where the event happens:
//   metrics::catalog().transactions.with({listener, "accepted"}).inc();
// Contract: catalog() registers everything in metrics::process() on first call (serve calls
// it at start-up so a scrape shows every family, also before its first event). Names follow
// the Prometheus conventions: rampart_ prefix, _total for counters, base units (_seconds).
// The queue by state and destination is not here: the admin listener computes it at scrape
// time from the scheduler (rampart_queue_messages, admin/metrics_page.cpp).
#pragma once

#include "util/metrics.hpp"

namespace rampart::metrics {

struct Catalog {
    Family<Gauge>& sessions_active;           // rampart_sessions_active{listener}
    Family<Counter>& sessions;                // rampart_sessions_total{listener}
    Family<Counter>& transactions;            // rampart_transactions_total{listener,result}
    Family<Counter>& refusals;                // rampart_refusals_total{listener,stage,agent,rule}
    Family<Counter>& delivery_attempts;       // rampart_delivery_attempts_total{result}
    Family<Histogram>& spool_commit_seconds;  // rampart_spool_commit_seconds
    Family<Histogram>& spool_flush_messages;  // rampart_spool_flush_messages
    Family<Histogram>& filter_agent_seconds;  // rampart_filter_agent_seconds{agent}
    Family<Counter>& tls_handshakes;          // rampart_tls_handshakes_total{direction,result}
    Family<Counter>& auth_failures;           // rampart_auth_failures_total{listener,mechanism}
    Family<Counter>& auth_lockouts;           // rampart_auth_lockouts_total{listener,key}
    Family<Histogram>& tracking_batch_events; // rampart_tracking_batch_events
    Family<Histogram>& tracking_write_seconds;// rampart_tracking_write_seconds
    Family<Counter>& tracking_dropped;        // rampart_tracking_dropped_events_total
};

const Catalog& catalog();

// The `agent` label of a refusal decided by the access policy rather than a filter agent.
inline constexpr std::string_view kPolicyAgent = "policy";

}  // namespace rampart::metrics
