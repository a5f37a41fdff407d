// Tests for util/log.cpp's line format: the timestamp (formatted once per second per
// thread, issue 13) is the current UTC time to the millisecond, and values are quoted.
#include "util/log.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace rampart::log {
namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// "ts=2026-12-02T02:45:01.234Z ..." → Unix milliseconds; -1 if malformed.
std::int64_t parse_ts(const std::string& line) {
    int y, mo, d, h, mi, s, ms;
    char z = 0;
    if (std::sscanf(line.c_str(), "ts=%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi, &s, &ms, &z) != 8 || z != 'Z') return -1;
    if (line.size() < 28 || line[27] != ' ') return -1;
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return static_cast<std::int64_t>(timegm(&tm)) * 1000 + ms;
}

TEST(Log, TimestampIsTheCurrentUtcMillisecond) {
    auto path = std::filesystem::temp_directory_path() / ("rampart-log-test-" + std::to_string(::getpid()));
    ASSERT_TRUE(set_file(path.string()));
    std::vector<std::pair<std::int64_t, std::int64_t>> windows;
    // Each line must fall within its own window (the cached seconds part included): lines
    // every 20 ms until two second boundaries have passed, so the cache is renewed.
    std::int64_t first_second = now_ms() / 1000;
    for (int i = 0; now_ms() / 1000 < first_second + 2 && i < 500; ++i) {
        std::int64_t before = now_ms();
        info("test.line", {{"i", i}, {"text", "a b"}});
        windows.emplace_back(before, now_ms());
        std::this_thread::sleep_for(std::chrono::milliseconds(20));   // pacing, not a timing check
    }
    ASSERT_TRUE(set_file(""));
    std::ifstream in(path);
    std::string line;
    std::size_t n = 0;
    while (std::getline(in, line)) {
        ASSERT_LT(n, windows.size());
        std::int64_t ts = parse_ts(line);
        ASSERT_GE(ts, 0) << line;
        EXPECT_GE(ts, windows[n].first) << line;
        EXPECT_LE(ts, windows[n].second) << line;
        EXPECT_NE(line.find(" level=info event=test.line i=" + std::to_string(n) + " text=\"a b\""), std::string::npos) << line;
        ++n;
    }
    EXPECT_EQ(n, windows.size());
    std::filesystem::remove(path);
}

TEST(Log, TimestampIsRightOnEveryThread) {
    auto path = std::filesystem::temp_directory_path() / ("rampart-log-test-threads-" + std::to_string(::getpid()));
    ASSERT_TRUE(set_file(path.string()));
    std::int64_t before = now_ms();
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([t] {
            for (int i = 0; i < 100; ++i) info("test.thread", {{"t", t}, {"i", i}});
        });
    for (auto& th : threads) th.join();
    std::int64_t after = now_ms();
    ASSERT_TRUE(set_file(""));
    std::ifstream in(path);
    std::string line;
    std::size_t n = 0;
    while (std::getline(in, line)) {
        std::int64_t ts = parse_ts(line);
        EXPECT_GE(ts, before) << line;
        EXPECT_LE(ts, after) << line;
        ++n;
    }
    EXPECT_EQ(n, 400u);
    std::filesystem::remove(path);
}

}  // namespace
}  // namespace rampart::log
