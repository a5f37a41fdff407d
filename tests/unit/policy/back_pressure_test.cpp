#include "policy/back_pressure.hpp"

#include <gtest/gtest.h>

using namespace rampart;
using namespace rampart::policy;
using namespace std::chrono_literals;

namespace {

config::BackPressureSettings settings() {
    config::BackPressureSettings s;
    s.disk_free_tarpit = 10;
    s.disk_free_refuse = 5;
    s.disk_free_refuse_all = 2;
    s.queue_tarpit = 100;
    s.queue_refuse = 200;
    s.queue_refuse_all = 400;
    s.tarpit = 2s;
    return s;
}

PressureMeasure disk(double free, std::uint64_t queue = 0) {
    PressureMeasure m;
    m.disk_free_percent = free;
    m.inodes_free_percent = 90;
    m.queue_messages = queue;
    return m;
}

PressureState at(PressureState s, const PressureMeasure& m) { return next_pressure(s, m, settings()); }

Principal anonymous() { return {}; }
Principal user() { return {Principal::Kind::User, "alice", {}, {}, false}; }
Principal server() { return {Principal::Kind::Server, "hub1", {}, {}, false}; }

}  // namespace

TEST(BackPressure, DiskLevelsByWatermark) {
    EXPECT_EQ(at({}, disk(50)).level(), PressureLevel::Normal);
    EXPECT_EQ(at({}, disk(9.9)).level(), PressureLevel::Tarpit);
    EXPECT_EQ(at({}, disk(4)).level(), PressureLevel::Refuse);
    EXPECT_EQ(at({}, disk(1)).level(), PressureLevel::RefuseAll);
}

TEST(BackPressure, InodesCountWhenLowerThanSpace) {
    PressureMeasure m = disk(80);
    m.inodes_free_percent = 3;
    EXPECT_EQ(at({}, m).disk, PressureLevel::Refuse);
}

TEST(BackPressure, QueueLevelsByWatermark) {
    EXPECT_EQ(at({}, disk(50, 99)).level(), PressureLevel::Normal);
    EXPECT_EQ(at({}, disk(50, 100)).queue, PressureLevel::Tarpit);
    EXPECT_EQ(at({}, disk(50, 250)).queue, PressureLevel::Refuse);
    EXPECT_EQ(at({}, disk(50, 400)).queue, PressureLevel::RefuseAll);
}

TEST(BackPressure, DiskHysteresisLeavesOnlyPastTheMargin) {
    PressureState s = at({}, disk(4.5));   // refuse (below 5)
    ASSERT_EQ(s.disk, PressureLevel::Refuse);
    s = at(s, disk(5.5));                  // above 5 but within the 1-point margin: still refusing
    EXPECT_EQ(s.disk, PressureLevel::Refuse);
    s = at(s, disk(6.0));                  // 5 + 1: back to tarpit
    EXPECT_EQ(s.disk, PressureLevel::Tarpit);
    s = at(s, disk(10.5));                 // tarpit held below 10 + 1
    EXPECT_EQ(s.disk, PressureLevel::Tarpit);
    s = at(s, disk(11));
    EXPECT_EQ(s.disk, PressureLevel::Normal);
    // From normal, 10.5 does not enter the tarpit level: the margin only holds a level.
    EXPECT_EQ(at(s, disk(10.5)).disk, PressureLevel::Normal);
}

TEST(BackPressure, QueueHysteresisLeavesAtATenthBelow) {
    PressureState s = at({}, disk(50, 200));
    ASSERT_EQ(s.queue, PressureLevel::Refuse);
    s = at(s, disk(50, 199));   // below the mark, not by a tenth (20): held
    EXPECT_EQ(s.queue, PressureLevel::Refuse);
    s = at(s, disk(50, 180));
    EXPECT_EQ(s.queue, PressureLevel::Tarpit);
    s = at(s, disk(50, 90));
    EXPECT_EQ(s.queue, PressureLevel::Normal);
    EXPECT_EQ(queue_margin(3), 1u);   // small watermarks: at least one message
}

TEST(BackPressure, UnmeasuredDiskKeepsItsLevel) {
    PressureState s = at({}, disk(3));
    PressureMeasure none;
    none.queue_messages = 1;
    s = at(s, none);
    EXPECT_EQ(s.disk, PressureLevel::Refuse);
    ASSERT_TRUE(s.measure.disk_free_percent);
    EXPECT_DOUBLE_EQ(*s.measure.disk_free_percent, 3);
}

TEST(BackPressure, AnonymousThrottledFirst) {
    auto s = settings();
    PressureState tarpit = at({}, disk(8));
    PressureVerdict v = decide_back_pressure(tarpit, anonymous(), s);
    EXPECT_EQ(v.kind, PressureVerdict::Kind::Tarpit);
    EXPECT_EQ(v.delay, 2s);
    EXPECT_EQ(v.rule, "back_pressure.disk_free_tarpit");
    EXPECT_EQ(decide_back_pressure(tarpit, user(), s).kind, PressureVerdict::Kind::Pass);
    EXPECT_EQ(decide_back_pressure(tarpit, server(), s).kind, PressureVerdict::Kind::Pass);

    PressureState refuse = at({}, disk(50, 300));
    v = decide_back_pressure(refuse, anonymous(), s);
    EXPECT_EQ(v.kind, PressureVerdict::Kind::Refuse);
    EXPECT_EQ(v.reply.code, 452);
    EXPECT_EQ(v.reply.enhanced, "4.3.1");
    EXPECT_EQ(v.rule, "back_pressure.queue_refuse");
    EXPECT_NE(v.reason.find("queue 300 messages"), std::string::npos);
    EXPECT_EQ(decide_back_pressure(refuse, user(), s).kind, PressureVerdict::Kind::Tarpit);
    EXPECT_EQ(decide_back_pressure(refuse, server(), s).kind, PressureVerdict::Kind::Tarpit);

    PressureState critical = at({}, disk(1));
    for (const Principal& p : {anonymous(), user(), server()}) {
        PressureVerdict c = decide_back_pressure(critical, p, s);
        EXPECT_EQ(c.kind, PressureVerdict::Kind::Refuse) << p.text();
        EXPECT_EQ(c.rule, "back_pressure.disk_free_refuse_all");
    }
}

TEST(BackPressure, OffMeansNeverThrottled) {
    auto s = settings();
    s.enabled = false;
    PressureState critical = next_pressure({}, disk(1, 1000), s);
    EXPECT_EQ(critical.level(), PressureLevel::Normal);
    EXPECT_EQ(decide_back_pressure(at({}, disk(1)), anonymous(), s).kind, PressureVerdict::Kind::Pass);
    s = settings();
    s.queue_refuse = 0;   // one watermark off
    EXPECT_EQ(next_pressure({}, disk(50, 300), s).queue, PressureLevel::Tarpit);
}

TEST(BackPressure, ExplainIsLiveOnlyOffline) {
    SessionFacts f;
    Trace t;
    Decision d = check_back_pressure(f, settings(), std::nullopt, &t);
    EXPECT_EQ(d.verdict, Verdict::Pass);
    EXPECT_NE(d.note.find("live-only"), std::string::npos);
    ASSERT_EQ(t.steps.size(), 1u);
    d = check_back_pressure(f, settings(), at({}, disk(3)), nullptr);
    EXPECT_EQ(d.verdict, Verdict::Refuse);
    EXPECT_EQ(d.reply.code, 452);
    EXPECT_EQ(d.rule, "back_pressure.disk_free_refuse");
}
