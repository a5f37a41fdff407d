// Result: reading the wrong side aborts in every build type, not only with assertions on.
// NDEBUG is forced here so this test proves the checks survive a release build even when
// the test itself is built in Debug.
#ifndef NDEBUG
#define NDEBUG 1
#endif
#include "util/result.hpp"

#include <gtest/gtest.h>

#include <string>

using rampart::Error;
using rampart::Result;

TEST(Result, ValueAndErrorSides) {
    Result<int> ok(7);
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok.value(), 7);
    EXPECT_EQ(*ok, 7);
    Result<int> bad(Error{2, "disk on fire"});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, 2);
    EXPECT_EQ(Result<int>().error().message, "no result");
}

// Before issue 13 these checks were <cassert>'s assert(): compiled out under NDEBUG (the
// release build), so value() on an error threw std::bad_variant_access, or worse.
TEST(ResultDeathTest, ValueOfAnErrorAborts) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    Result<std::string> bad(Error{5, "read failed"});
    EXPECT_DEATH((void)bad.value(), "ok\\(\\)");
    const Result<std::string>& cbad = bad;
    EXPECT_DEATH((void)cbad.value(), "ok\\(\\)");
    EXPECT_DEATH((void)bad->size(), "ok\\(\\)");
}

TEST(ResultDeathTest, ErrorOfAValueAborts) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    Result<int> ok(1);
    EXPECT_DEATH((void)ok.error(), "ok\\(\\)");
}
