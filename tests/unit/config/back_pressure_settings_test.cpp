// [back_pressure] and [reputation]: defaults on in every role, values read, bad values and
// watermarks out of order reported with the key.
#include "config/load.hpp"

#include <gtest/gtest.h>

#include "load_helpers.hpp"

using namespace rampart::config;
using rampart::config::test::config_of;
using rampart::config::test::errors_of;
using namespace std::chrono_literals;

TEST(BackPressureSettings, OnByDefaultInEveryRole) {
    for (const char* role : {"all-in-one", "edge", "hub", "gateway", "mailbox"}) {
        Config c = config_of(std::string("[server]\nrole = \"") + role + "\"\n");
        EXPECT_TRUE(c.back_pressure.enabled) << role;
        EXPECT_EQ(c.back_pressure.disk_free_refuse, 4.0) << role;
        EXPECT_EQ(c.back_pressure.queue_refuse, 100000u) << role;
        EXPECT_EQ(c.back_pressure.tarpit, 2s) << role;
        EXPECT_TRUE(c.reputation.enabled) << role;
        EXPECT_EQ(c.reputation.block_at, 7) << role;
        EXPECT_EQ(c.reputation.block_for, 24h) << role;
    }
}

TEST(BackPressureSettings, ValuesAreRead) {
    Config c = config_of(R"(
[back_pressure]
disk_free_tarpit = 12.5
disk_free_refuse = 6
disk_free_refuse_all = 0
queue_tarpit = 10
queue_refuse = 20
queue_refuse_all = 30
tarpit = "500ms"
[reputation]
block_at = 5
block_for = "2h"
half_life = "10m"
max_clients = 1000
greeting_delay = "1s"
)");
    EXPECT_EQ(c.back_pressure.disk_free_tarpit, 12.5);
    EXPECT_EQ(c.back_pressure.disk_free_refuse_all, 0.0);
    EXPECT_EQ(c.back_pressure.queue_refuse_all, 30u);
    EXPECT_EQ(c.back_pressure.tarpit, 500ms);
    EXPECT_EQ(c.reputation.block_at, 5);
    EXPECT_EQ(c.reputation.block_for, 2h);
    EXPECT_EQ(c.reputation.half_life, 10min);
    EXPECT_EQ(c.reputation.max_clients, 1000u);
    EXPECT_EQ(c.reputation.greeting_delay, 1s);
}

TEST(BackPressureSettings, BadValuesNameTheKey) {
    auto e = errors_of("[back_pressure]\ndisk_free_refuse = 120\n");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_NE(e[0].text().find("back_pressure.disk_free_refuse"), std::string::npos) << e[0].text();
    e = errors_of("[back_pressure]\ndisk_free_tarpit = 3\ndisk_free_refuse = 5\n");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_NE(e[0].text().find("out of order"), std::string::npos) << e[0].text();
    e = errors_of("[back_pressure]\nqueue_refuse = 300000\n");   // above the default queue_refuse_all
    ASSERT_EQ(e.size(), 1u);
    EXPECT_NE(e[0].text().find("back_pressure.queue_refuse"), std::string::npos) << e[0].text();
    e = errors_of("[reputation]\nblock_at = 10\n");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_NE(e[0].text().find("reputation.block_at"), std::string::npos) << e[0].text();
    e = errors_of("[back_pressure]\nnope = 1\n");
    ASSERT_EQ(e.size(), 1u);
}
