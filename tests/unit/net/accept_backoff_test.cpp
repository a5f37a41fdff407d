// net::AcceptBackoff: the delay arithmetic. (An accept loop meeting EMFILE is tested with the
// real binary, test_descriptors.py: running out of descriptors in a sanitized test process
// makes UBSan's own memory probes fail.)
#include "net/accept_backoff.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace rampart::net {
namespace {

using std::chrono::milliseconds;

TEST(AcceptBackoff, GrowsToOneSecondAndCountsTheEpisode) {
    AcceptBackoff b;
    EXPECT_EQ(b.succeeded(), 0u);   // no episode
    EXPECT_EQ(b.failed(), milliseconds(100));
    EXPECT_EQ(b.failures(), 1u);    // the one to log
    EXPECT_EQ(b.failed(), milliseconds(200));
    EXPECT_EQ(b.failed(), milliseconds(400));
    EXPECT_EQ(b.failed(), milliseconds(800));
    EXPECT_EQ(b.failed(), milliseconds(1000));
    EXPECT_EQ(b.failed(), milliseconds(1000));
    EXPECT_EQ(b.failures(), 6u);
    EXPECT_EQ(b.succeeded(), 6u);   // logged once at the end, with the count
    EXPECT_EQ(b.failed(), milliseconds(100));   // a new episode starts small again
}

}  // namespace
}  // namespace rampart::net
