#include "config/units.hpp"

#include <gtest/gtest.h>

using namespace rampart::config;
using namespace std::chrono_literals;

TEST(Units, SizesWithBinaryAndDecimalUnits) {
    EXPECT_EQ(parse_size("1024"), 1024u);
    EXPECT_EQ(parse_size("64KiB"), 64u * 1024);
    EXPECT_EQ(parse_size("35MiB"), 35u << 20);
    EXPECT_EQ(parse_size("35mib"), 35u << 20);
    EXPECT_EQ(parse_size("1GiB"), 1ull << 30);
    EXPECT_EQ(parse_size("10KB"), 10000u);
    EXPECT_EQ(parse_size("5MB"), 5000000u);
    EXPECT_EQ(parse_size("5 MiB"), 5u << 20);
}

TEST(Units, BadSizesAreRefused) {
    for (const char* bad : {"", "MiB", "35XB", "-1", "1.5MiB", "99999999999999999999", "20000000TiB"})
        EXPECT_FALSE(parse_size(bad).has_value()) << bad;
}

TEST(Units, Durations) {
    EXPECT_EQ(parse_duration("30s"), 30s);
    EXPECT_EQ(parse_duration("10m"), 10min);
    EXPECT_EQ(parse_duration("2h"), 2h);
    EXPECT_EQ(parse_duration("1d"), 24h);
    EXPECT_EQ(parse_duration("500ms"), 500ms);
    for (const char* bad : {"10", "", "m", "5y", "1.5m"}) EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
}

TEST(Units, FormatRoundTrips) {
    for (const char* s : {"35MiB", "64KiB", "1GiB", "1000"}) EXPECT_EQ(format_size(*parse_size(s)), s);
    for (const char* s : {"5m", "30s", "2h", "1d", "250ms"}) EXPECT_EQ(format_duration(*parse_duration(s)), s);
}
