// util/metric_catalog.cpp — the one table of rampart's metrics (docs/metrics.md).
#include "util/metric_catalog.hpp"

namespace rampart::metrics {

const Catalog& catalog() {
    static const Catalog c{
        process().gauge("rampart_sessions_active", "SMTP sessions open now, per listener.", {"listener"}),
        process().counter("rampart_sessions_total", "SMTP sessions accepted since start, per listener.", {"listener"}),
        process().counter("rampart_transactions_total",
                          "Mail transactions by how they ended: accepted, quarantined, discarded, refused, deferred, aborted, abandoned.",
                          {"listener", "result"}),
        process().counter("rampart_refusals_total",
                          "Refused connections, senders, recipients and messages, by stage and by the rule (access policy) or agent (filter chain) that refused.",
                          {"listener", "stage", "agent", "rule"}),
        process().counter("rampart_delivery_attempts_total",
                          "Delivery attempts per recipient by result: delivered, deferred (temporary failure), failed (permanent).",
                          {"result"}),
        process().histogram("rampart_spool_commit_seconds",
                            "Time from a session's spool commit to the message being on stable storage.",
                            {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}),
        process().histogram("rampart_spool_flush_messages", "Messages made durable together by one group commit (flush batch size).",
                            {1, 2, 4, 8, 16, 32, 64, 128, 256, 512}),
        process().histogram("rampart_filter_agent_seconds", "Time a filter agent took to answer one event, per agent.",
                            {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30}, {"agent"}),
        process().counter("rampart_tls_handshakes_total",
                          "TLS handshakes by direction (inbound: listeners and the admin listener; outbound: delivery) and result (ok, failed).",
                          {"direction", "result"}),
        process().counter("rampart_auth_failures_total", "Failed SMTP AUTH attempts, per listener and SASL mechanism.",
                          {"listener", "mechanism"}),
        process().counter("rampart_auth_lockouts_total", "AUTH lockouts begun, per listener and locked key (address or user).",
                          {"listener", "key"}),
        process().histogram("rampart_tracking_batch_events",
                            "Events the tracking writer took from its queue at once (the backlog when it woke).",
                            {1, 10, 100, 1000, 2500, 5000}),
        process().histogram("rampart_tracking_write_seconds", "Time of one tracking store transaction (a batch of events).",
                            {0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}),
        process().counter("rampart_tracking_dropped_events_total",
                          "Tracking events dropped because the writer's queue was full (tracking.dropped in the log)."),
    };
    return c;
}

}  // namespace rampart::metrics
