#include "tracking/recorder.hpp"

#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "database_file.hpp"
#include "util/metric_catalog.hpp"

using namespace rampart::tracking;
namespace log = rampart::log;

namespace {

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char tmpl[] = "/tmp/rampart-rec-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

// Queues `n` events named `name` with tracking ids t0, t1, ... (and `reason`, to make rows
// bigger), as fast as the caller's thread can.
void record_many(Recorder& r, std::size_t n, const char* name, const std::string& reason = "") {
    for (std::size_t i = 0; i < n; ++i) {
        Event e;
        e.event = name;
        e.tracking_id = "t" + std::to_string(i);
        e.reason = reason;
        r.record(std::move(e));
    }
}

}  // namespace

TEST(TrackingRecorder, LogEventsReachTheStore) {
    TempDir d;
    auto r = Recorder::start(d.path / "t.db", RecorderSettings{});
    ASSERT_TRUE(r.ok()) << r.error().message;
    log::set_observer(r->get());
    log::info("smtp.rcpt.refused", {{"listener", "in"}, {"client", "192.0.2.1"}, {"from", "a@b.test"}, {"to", "c@d.test"},
                                    {"rule", "relay.list"}, {"code", 550}, {"reason", "relaying denied"}, {"tracking_id", "tid00001"}});
    log::info("smtp.auth", {{"user", "x"}});   // not tracked
    log::set_observer(nullptr);
    (*r)->flush();
    auto store = Store::open(d.path / "t.db", false);   // a second reader, as `rampart track`
    ASSERT_TRUE(store.ok());
    Query q;
    q.id = "tid00001";
    auto found = store->find(q);
    ASSERT_EQ(found->size(), 1u);
    EXPECT_EQ(found->front().events.front().rule, "relay.list");
    EXPECT_EQ(store->event_count(), 1u);
}

TEST(TrackingRecorder, AFullQueueDropsAndCounts) {
    TempDir d;
    RecorderSettings s;
    s.capacity = 4;
    auto r = Recorder::start(d.path / "t.db", s);
    ASSERT_TRUE(r.ok());
    // More than the queue holds, faster than one thread can write them: some are dropped,
    // none blocks, and what was kept plus what was dropped is everything.
    const std::uint64_t n = 20000;
    record_many(**r, n, "smtp.rcpt.refused");
    (*r)->flush();
    auto store = Store::open(d.path / "t.db", false);
    ASSERT_TRUE(store.ok());
    EXPECT_EQ(store->event_count() + (*r)->dropped(), n);
    // A queue with no room at all drops every event at once, without waiting.
    s.capacity = 0;
    rampart::metrics::Counter& dropped = rampart::metrics::catalog().tracking_dropped.with({});
    const std::uint64_t dropped_before = dropped.value();
    auto none = Recorder::start(d.path / "u.db", s);
    ASSERT_TRUE(none.ok());
    for (int i = 0; i < 3; ++i) {
        Event e;
        e.event = "smtp.rcpt.refused";
        e.tracking_id = "t";
        (*none)->record(std::move(e));
    }
    (*none)->flush();
    EXPECT_EQ((*none)->dropped(), 3u);
    EXPECT_EQ(dropped.value() - dropped_before, 3u);   // rampart_tracking_dropped_events_total
    EXPECT_EQ(Store::open(d.path / "u.db", false)->event_count(), 0u);
}

TEST(TrackingRecorder, ItsOwnThreadCheckpointsTheStore) {
    TempDir d;
    const auto file = d.path / "t.db";
    auto r = Recorder::start(file, RecorderSettings{});
    ASSERT_TRUE(r.ok());
    const std::int64_t n = 5000;
    record_many(**r, n, "smtp.transaction", std::string(200, 'r'));
    (*r)->flush();
    // The checkpoint follows the writer's batch on the other thread: wait for it (bounded).
    for (int i = 0; i < 500 && events_in_database_file(file) != n; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(events_in_database_file(file), n);
    EXPECT_GE((*r)->checkpoints(), 1u);
}

TEST(TrackingRecorder, ABacklogsBufferIsLetGoOnceDrained) {
    TempDir d;
    auto r = Recorder::start(d.path / "t.db", RecorderSettings{});
    ASSERT_TRUE(r.ok());
    // Far more than one batch at once, as when a write was slow: the queue's buffer grows.
    const std::size_t n = 40000;
    record_many(**r, n, "smtp.transaction");
    EXPECT_GT((*r)->queue_capacity(), 2 * Recorder::kWakeAt);
    (*r)->flush();
    // Drained, the buffer goes back to its usual size (the writer does it right after the
    // batch that flush() waited for: wait for it, bounded).
    for (int i = 0; i < 500 && (*r)->queue_capacity() > 2 * Recorder::kWakeAt; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_LE((*r)->queue_capacity(), 2 * Recorder::kWakeAt);
    EXPECT_EQ(Store::open(d.path / "t.db", false)->event_count() + (*r)->dropped(), n);
}
