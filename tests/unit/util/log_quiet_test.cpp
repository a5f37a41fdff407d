// Unit tests for util/log's QuietScope (log_test.cpp tests the line format): events below
// Warning from the quiet thread are not counted, not observed; warnings are; other threads are not affected.
#include "util/log.hpp"

#include <thread>

#include <gtest/gtest.h>

namespace rampart::log {
namespace {

std::uint64_t count(const std::string& name) {
    auto c = counters();
    auto it = c.find(name);
    return it == c.end() ? 0 : it->second;
}

TEST(QuietScope, DropsInfoFromThisThreadOnly) {
    set_min_level(Level::Error);   // keep the test's output clean; counting does not depend on it
    info("test.quiet", {});
    EXPECT_EQ(count("test.quiet"), 1u);
    {
        QuietScope quiet;
        info("test.quiet", {});
        warn("test.quiet.warning", {});
        std::thread other([] { info("test.quiet", {}); });
        other.join();
    }
    EXPECT_EQ(count("test.quiet"), 2u);           // the other thread's, not this one's
    EXPECT_EQ(count("test.quiet.warning"), 1u);   // warnings are never dropped
    info("test.quiet", {});
    EXPECT_EQ(count("test.quiet"), 3u);
}

}  // namespace
}  // namespace rampart::log
