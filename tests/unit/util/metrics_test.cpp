// Rendering of a known registry in the Prometheus text format, exactly; escapes; buckets.
#include "util/metrics.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace rampart::metrics {
namespace {

TEST(Metrics, RendersAKnownRegistryExactly) {
    Registry r;
    auto& sessions = r.counter("rampart_sessions_total", "Sessions accepted.", {"listener"});
    sessions.with({"smtp"}).inc();
    sessions.with({"smtp"}).inc(2);
    sessions.with({"submission"}).inc();
    r.gauge("rampart_sessions_active", "Open now.", {"listener"}).with({"smtp"}).set(4);
    auto& h = r.histogram("rampart_spool_commit_seconds", "Commit time.", {0.001, 0.01, 0.1});
    h.with({}).observe(0.0005);
    h.with({}).observe(0.01);   // equal to a bound: in that bucket (le)
    h.with({}).observe(3);
    Snapshot q{"rampart_queue_messages", "Queue.", {"state", "destination"}, {{{"deferred", "example.org"}, 2}}};
    EXPECT_EQ(r.render({q}),
              "# HELP rampart_sessions_active Open now.\n"
              "# TYPE rampart_sessions_active gauge\n"
              "rampart_sessions_active{listener=\"smtp\"} 4\n"
              "# HELP rampart_sessions_total Sessions accepted.\n"
              "# TYPE rampart_sessions_total counter\n"
              "rampart_sessions_total{listener=\"smtp\"} 3\n"
              "rampart_sessions_total{listener=\"submission\"} 1\n"
              "# HELP rampart_spool_commit_seconds Commit time.\n"
              "# TYPE rampart_spool_commit_seconds histogram\n"
              "rampart_spool_commit_seconds_bucket{le=\"0.001\"} 1\n"
              "rampart_spool_commit_seconds_bucket{le=\"0.01\"} 2\n"
              "rampart_spool_commit_seconds_bucket{le=\"0.1\"} 2\n"
              "rampart_spool_commit_seconds_bucket{le=\"+Inf\"} 3\n"
              "rampart_spool_commit_seconds_sum 3.0105\n"
              "rampart_spool_commit_seconds_count 3\n"
              "# HELP rampart_queue_messages Queue.\n"
              "# TYPE rampart_queue_messages gauge\n"
              "rampart_queue_messages{state=\"deferred\",destination=\"example.org\"} 2\n");
}

TEST(Metrics, LabelledHistogramPutsLeLast) {
    Registry r;
    r.histogram("rampart_filter_agent_seconds", "Agent time.", {1}, {"agent"}).with({"milter:dkim"}).observe(0.5);
    std::string text = r.render();
    EXPECT_NE(text.find("rampart_filter_agent_seconds_bucket{agent=\"milter:dkim\",le=\"1\"} 1\n"), std::string::npos) << text;
    EXPECT_NE(text.find("rampart_filter_agent_seconds_bucket{agent=\"milter:dkim\",le=\"+Inf\"} 1\n"), std::string::npos);
    EXPECT_NE(text.find("rampart_filter_agent_seconds_sum{agent=\"milter:dkim\"} 0.5\n"), std::string::npos);
    EXPECT_NE(text.find("rampart_filter_agent_seconds_count{agent=\"milter:dkim\"} 1\n"), std::string::npos);
}

TEST(Metrics, EscapesLabelValuesAndHelp) {
    Registry r;
    r.counter("rampart_x_total", "a \\ b\nc", {"rule"}).with({"q\"uote\\back\nline"}).inc();
    EXPECT_EQ(r.render(),
              "# HELP rampart_x_total a \\\\ b\\nc\n"
              "# TYPE rampart_x_total counter\n"
              "rampart_x_total{rule=\"q\\\"uote\\\\back\\nline\"} 1\n");
}

TEST(Metrics, FamilyWithoutSeriesShowsItsHead) {
    Registry r;
    r.counter("rampart_auth_lockouts_total", "Lockouts.", {"listener", "key"});
    EXPECT_EQ(r.render(), "# HELP rampart_auth_lockouts_total Lockouts.\n# TYPE rampart_auth_lockouts_total counter\n");
}

TEST(Metrics, RegisteringTwiceGivesTheSameFamily) {
    Registry r;
    auto& a = r.counter("rampart_a_total", "A.", {"x"});
    auto& b = r.counter("rampart_a_total", "A.", {"x"});
    EXPECT_EQ(&a, &b);
    EXPECT_EQ(&a.with({"1"}), &b.with({"1"}));
}

TEST(Metrics, FormatsValues) {
    EXPECT_EQ(format_value(1), "1");
    EXPECT_EQ(format_value(0.25), "0.25");
    EXPECT_EQ(format_value(1.0 / 0.0), "+Inf");
    EXPECT_EQ(format_value(-1.0 / 0.0), "-Inf");
}

TEST(Metrics, ConcurrentUpdatesAreAllCounted) {
    Registry r;
    auto& fam = r.counter("rampart_c_total", "C.", {"t"});
    auto& h = r.histogram("rampart_h", "H.", {1});
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 10000; ++i) {
                fam.with({"x"}).inc();
                h.with({}).observe(1);
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(fam.with({"x"}).value(), 40000u);
    EXPECT_EQ(h.with({}).cumulative().back(), 40000u);
    EXPECT_EQ(h.with({}).sum(), 40000.0);
}

}  // namespace
}  // namespace rampart::metrics
