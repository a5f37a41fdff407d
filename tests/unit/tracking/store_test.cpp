#include "tracking/store.hpp"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "database_file.hpp"

using namespace rampart::tracking;

namespace {

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char tmpl[] = "/tmp/rampart-track-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

Event ev(std::int64_t ts, std::string name, std::string tid, std::string qid = "") {
    Event e;
    e.ts_ms = ts;
    e.event = std::move(name);
    e.tracking_id = std::move(tid);
    e.qid = std::move(qid);
    return e;
}

Store open_store(const TempDir& d) {
    auto s = Store::open(d.path / "tracking.db", true);
    EXPECT_TRUE(s.ok()) << s.error().message;
    return std::move(*s);
}

}  // namespace

TEST(TrackingStore, DeliveryEventsFollowTheQueueIdToTheMessage) {
    TempDir d;
    Store s = open_store(d);
    Event rcvd = ev(1000, "smtp.transaction", "t1", "Q1");
    rcvd.result = "accepted";
    rcvd.sender = "Alice@Example.test";
    rcvd.rcpts = "bob@example.test,Carol@example.test";
    rcvd.client = "192.0.2.1";
    Event del = ev(2000, "delivery.attempt", "", "Q1");
    del.result = "delivered";
    Event dsn = ev(2500, "dsn.queued", "", "Q1");
    dsn.extra = "Q2";
    Event dsn_del = ev(3000, "delivery.attempt", "", "Q2");   // the report's own delivery
    dsn_del.result = "delivered";
    std::vector<Event> batch{rcvd, del, dsn, dsn_del};
    ASSERT_TRUE(s.append(batch).ok());

    Query q;
    q.id = "Q1";
    auto found = s.find(q);
    ASSERT_TRUE(found.ok());
    ASSERT_EQ(found->size(), 1u);
    const Message& m = found->front();
    EXPECT_EQ(m.tracking_id, "t1");
    ASSERT_EQ(m.events.size(), 4u);
    EXPECT_EQ(m.events[1].event, "delivery.attempt");
    EXPECT_EQ(m.events[3].qid, "Q2");
    EXPECT_EQ(m.status, Delivered);
    EXPECT_EQ(m.events[3].extra, "report");   // the report's own delivery is filed, not counted as the message's

    // A report that is delivered does not make a bounced message "delivered".
    Event bounced = ev(4000, "smtp.transaction", "t2", "Q3");
    bounced.result = "accepted";
    Event failed = ev(4100, "delivery.attempt", "", "Q3");
    failed.result = "failed";
    Event report = ev(4200, "dsn.queued", "", "Q3");
    report.extra = "Q4";
    Event report_delivered = ev(4300, "delivery.attempt", "", "Q4");
    report_delivered.result = "delivered";
    batch = {bounced, failed, report, report_delivered};
    ASSERT_TRUE(s.append(batch).ok());
    q.id = "t2";
    found = s.find(q);
    ASSERT_EQ(found->size(), 1u);
    EXPECT_EQ(found->front().status, Bounced);
    EXPECT_EQ(found->front().events.size(), 4u);

    Query by_sender;
    by_sender.sender = "alice@EXAMPLE.test";
    EXPECT_EQ(s.find(by_sender)->size(), 1u);
    Query by_rcpt;
    by_rcpt.recipient = "carol@example.test";
    EXPECT_EQ(s.find(by_rcpt)->size(), 1u);
    by_rcpt.recipient = "carol@other.test";
    EXPECT_TRUE(s.find(by_rcpt)->empty());
}

TEST(TrackingStore, RefusalWithoutQueueIdAndStatusFilter) {
    TempDir d;
    Store s = open_store(d);
    Event refused = ev(1000, "smtp.rcpt.refused", "t1");
    refused.rule = "relay.list";
    refused.code = 550;
    refused.reason = "relaying denied";
    refused.rcpts = "x@elsewhere.test";
    refused.client = "192.0.2.9";
    Event ok = ev(1100, "smtp.transaction", "t2", "Q9");
    ok.result = "accepted";
    Event deferred = ev(1200, "delivery.attempt", "", "Q9");
    deferred.result = "deferred";
    std::vector<Event> batch{refused, ok, deferred};
    ASSERT_TRUE(s.append(batch).ok());

    Query q;
    q.status = Refused;
    auto found = s.find(q);
    ASSERT_EQ(found->size(), 1u);
    EXPECT_EQ(found->front().tracking_id, "t1");
    EXPECT_EQ(found->front().events.front().rule, "relay.list");
    EXPECT_TRUE(found->front().events.front().qid.empty());
    q.status = Deferred;
    ASSERT_EQ(s.find(q)->size(), 1u);
    EXPECT_EQ(s.find(q)->front().tracking_id, "t2");
    q.status = Delivered;
    EXPECT_TRUE(s.find(q)->empty());

    Query by_client;
    by_client.client = "192.0.2.9";
    EXPECT_EQ(s.find(by_client)->size(), 1u);
    Query window;
    window.since_ms = 1150;
    ASSERT_EQ(s.find(window)->size(), 1u);
    EXPECT_EQ(s.find(window)->front().tracking_id, "t2");
    window.since_ms.reset();
    window.until_ms = 1050;
    ASSERT_EQ(s.find(window)->size(), 1u);
    EXPECT_EQ(s.find(window)->front().tracking_id, "t1");
}

TEST(TrackingStore, QuarantineReleasedClearsTheBit) {
    TempDir d;
    Store s = open_store(d);
    std::vector<Event> batch{ev(1, "quarantine.added", "t1", "Q1")};
    ASSERT_TRUE(s.append(batch).ok());
    Query q;
    q.status = Quarantined;
    EXPECT_EQ(s.find(q)->size(), 1u);
    batch = {ev(2, "quarantine.released", "", "Q1")};
    ASSERT_TRUE(s.append(batch).ok());
    EXPECT_TRUE(s.find(q)->empty());
}

TEST(TrackingStore, RotationByAgeAndSize) {
    TempDir d;
    Store s = open_store(d);
    std::vector<Event> batch;
    for (int i = 0; i < 4000; ++i) {
        Event e = ev(i, "smtp.rcpt.refused", "t" + std::to_string(i));
        e.reason = std::string(200, 'r');
        e.rcpts = "r" + std::to_string(i) + "@example.test";
        batch.push_back(e);
    }
    ASSERT_TRUE(s.append(batch).ok());
    EXPECT_EQ(s.event_count(), 4000u);
    // Age: everything before ts 1000 goes, with its messages and recipients.
    auto r = s.rotate(1000 + 1000, 1000, 0);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, 1000u);
    EXPECT_EQ(s.event_count(), 3000u);
    Query q;
    q.recipient = "r5@example.test";
    EXPECT_TRUE(s.find(q)->empty());
    q.recipient = "r3500@example.test";
    EXPECT_EQ(s.find(q)->size(), 1u);
    // Size: the oldest go until the data fits.
    std::uint64_t before = s.data_bytes();
    r = s.rotate(5000, 0, before / 2);
    ASSERT_TRUE(r.ok());
    EXPECT_GT(*r, 0u);
    EXPECT_LE(s.data_bytes(), before / 2);
    q.recipient = "r3999@example.test";   // the newest stay
    EXPECT_EQ(s.find(q)->size(), 1u);
}

TEST(TrackingStore, OpenWithoutCreateNeedsTheFile) {
    TempDir d;
    EXPECT_FALSE(Store::open(d.path / "missing.db", false).ok());
}

TEST(TrackingStore, OnlyTheServersUserReadsIt) {
    TempDir d;
    Store s = open_store(d);
    std::vector<Event> batch{ev(1, "smtp.rcpt.refused", "t1")};
    ASSERT_TRUE(s.append(batch).ok());
    for (const char* name : {"tracking.db", "tracking.db-wal"}) {
        auto perms = std::filesystem::status(d.path / name).permissions();
        EXPECT_EQ(perms & std::filesystem::perms::all, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)
            << name;
    }
}

TEST(TrackingStore, OneBatchGivesTheSameMessageAsEventByEvent) {
    // The writer folds a batch's events of one message into one row update (issue 13):
    // status changes compose in order, the earliest time, first sender and client win.
    auto events = [] {
        Event rcvd = ev(1000, "smtp.transaction", "t1", "Q1");
        rcvd.result = "accepted";
        rcvd.sender = "Alice@Example.test";
        rcvd.client = "192.0.2.1";
        Event held = ev(1100, "quarantine.added", "t1", "Q1");
        Event deferred = ev(1200, "delivery.attempt", "", "Q1");
        deferred.result = "deferred";
        Event released = ev(1300, "quarantine.released", "t1", "Q1");
        Event delivered = ev(1400, "delivery.attempt", "", "Q1");
        delivered.result = "delivered";
        Event other = ev(1500, "smtp.transaction", "t2", "Q2");   // another message in the same batch
        other.result = "refused";
        other.sender = "Bob@example.test";
        return std::vector<Event>{rcvd, held, deferred, released, delivered, other};
    };
    TempDir d1, d2;
    Store batched = open_store(d1), single = open_store(d2);
    std::vector<Event> all = events();
    ASSERT_TRUE(batched.append(all).ok());
    for (Event& e : events()) {
        std::vector<Event> one{e};
        ASSERT_TRUE(single.append(one).ok());
    }
    for (Store* s : {&batched, &single}) {
        Query q;
        q.id = "t1";
        auto t1 = s->find(q);
        ASSERT_TRUE(t1.ok());
        ASSERT_EQ(t1->size(), 1u);
        EXPECT_EQ(t1->front().status, Delivered);   // deferred cleared, quarantine released
        EXPECT_EQ(t1->front().events.size(), 5u);
        Query by_sender;
        by_sender.sender = "alice@example.test";
        EXPECT_EQ(s->find(by_sender)->size(), 1u);
        Query refused;
        refused.status = Refused;
        auto r = s->find(refused);
        ASSERT_EQ(r->size(), 1u);
        EXPECT_EQ(r->front().tracking_id, "t2");
        Query held;
        held.status = Quarantined;
        EXPECT_TRUE(s->find(held)->empty());
        Query deferred;
        deferred.status = Deferred;
        EXPECT_TRUE(s->find(deferred)->empty());
    }
}

TEST(TrackingStore, RotationNeverRemovesAnEventBeforeItsTime) {
    // Threads' events reach the writer a little out of time order: rotation goes in rowid
    // order and stops at the first event at or after the cutoff.
    TempDir d;
    Store s = open_store(d);
    std::vector<Event> batch;
    for (std::int64_t ts : {100, 300, 200, 500, 400, 600}) batch.push_back(ev(ts, "smtp.rcpt.refused", "t" + std::to_string(ts)));
    ASSERT_TRUE(s.append(batch).ok());
    auto r = s.rotate(450 + 1000, 1000, 0);   // cutoff 450
    ASSERT_TRUE(r.ok());
    // 100, 300 and 200 go; the event at 400 (after 500 in arrival order) stays until a later
    // rotation (its message's summary goes by its own last time, as before).
    EXPECT_EQ(s.event_count(), 3u);
    for (std::int64_t kept : {500, 600}) {
        Query q;
        q.id = "t" + std::to_string(kept);
        EXPECT_EQ(s.find(q)->size(), 1u) << kept;
    }
    r = s.rotate(1000 + 1000, 1000, 0);   // everything is older now
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(s.event_count(), 0u);
}

TEST(TrackingStore, TheWritersCommitsLeaveTheCheckpointToAnotherConnection) {
    TempDir d;
    const auto file = d.path / "tracking.db";
    Store writer = open_store(d);
    ASSERT_TRUE(writer.leave_checkpoints_to_another().ok());
    // Well past SQLite's automatic checkpoint (1,000 pages): none happens at commit.
    for (int b = 0; b < 20; ++b) {
        std::vector<Event> batch;
        for (int i = 0; i < 1000; ++i) {
            Event e = ev(1000 + b * 1000 + i, "smtp.transaction", "t" + std::to_string(b * 1000 + i));
            e.reason = std::string(200, 'r');
            batch.push_back(std::move(e));
        }
        ASSERT_TRUE(writer.append(batch).ok());
    }
    EXPECT_LE(events_in_database_file(file), 0);   // all of it is still in the WAL
    auto other = Store::open(file, false);
    ASSERT_TRUE(other.ok());
    auto r = other->checkpoint();
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_GT(r->wal_frames, 1000);
    EXPECT_EQ(r->checkpointed, r->wal_frames);
    EXPECT_EQ(events_in_database_file(file), 20000);
    EXPECT_EQ(writer.event_count(), 20000u);
    // The writer goes on after it: the WAL starts again from its beginning.
    std::vector<Event> more{ev(99999, "smtp.transaction", "after")};
    ASSERT_TRUE(writer.append(more).ok());
    EXPECT_EQ(writer.event_count(), 20001u);
}
