// Back pressure in a live session: MAIL FROM refused with 452 4.3.1 above the queue's
// refuse watermark, accepted again below it (the state changed while the session runs).
#include "session/back_pressure.hpp"

#include "config/load.hpp"
#include "queue/spool.hpp"
#include "session/session_fixture.hpp"

using namespace rampart;

namespace {

config::BackPressureSettings queue_only() {
    config::BackPressureSettings s;
    s.disk_free_tarpit = s.disk_free_refuse = s.disk_free_refuse_all = 0;
    s.queue_tarpit = 2;
    s.queue_refuse = 3;
    s.queue_refuse_all = 10;
    s.tarpit = std::chrono::milliseconds(0);
    return s;
}

policy::PressureMeasure in_queue(std::uint64_t n) {
    policy::PressureMeasure m;
    m.queue_messages = n;
    return m;
}

class BackPressureSessionTest : public test::SessionFixture {
protected:
    void SetUp() override {
        services_.back_pressure = &bp_;
        SessionFixture::SetUp();
    }
    session::BackPressure bp_{queue_only(), "/nonexistent"};
};

}  // namespace

TEST_F(BackPressureSessionTest, RefusedAboveTheWatermarkAcceptedBelow) {
    talk("EHLO client.test\r\n", "250");
    talk("MAIL FROM:<a@outside.test>\r\n", "250 2.1.0");
    talk("RSET\r\n", "250");
    bp_.apply(in_queue(5));
    EXPECT_EQ(bp_.state().level(), policy::PressureLevel::Refuse);
    talk("MAIL FROM:<a@outside.test>\r\n", "452 4.3.1 insufficient system resources");
    EXPECT_EQ(bp_.refused(), 1u);
    bp_.apply(in_queue(1));
    talk("MAIL FROM:<a@outside.test>\r\n", "250 2.1.0");
    EXPECT_EQ(bp_.changes(), 2u);
}

TEST(BackPressureMonitor, CommitsCountUntilTheNextSample) {
    session::BackPressure bp(queue_only(), "/nonexistent");
    bp.sample(1);
    bp.committed();
    EXPECT_EQ(bp.state().measure.queue_messages, 2u);
    EXPECT_EQ(bp.state().level(), policy::PressureLevel::Tarpit);
    bp.sample(0);   // the scheduler's count wins
    EXPECT_EQ(bp.state().level(), policy::PressureLevel::Normal);
    // A data_dir that cannot be measured leaves the disk unknown, never "full".
    EXPECT_FALSE(bp.state().measure.disk_free_percent);
}

TEST(BackPressureMonitor, MeasuresARealFileSystem) {
    policy::PressureMeasure m = session::measure_disk("/");
    ASSERT_TRUE(m.disk_free_percent);
    EXPECT_GE(*m.disk_free_percent, 0.0);
    EXPECT_LE(*m.disk_free_percent, 100.0);
}
