// util::Live: a snapshot outlives the swap that replaces it; readers and a writer on other
// threads only ever see whole values that were set.
#include "util/live.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace rampart::util {
namespace {

TEST(Live, HoldsNullUntilTheFirstSet) {
    Live<std::string> live;
    EXPECT_EQ(live.get(), nullptr);
    live.set(std::string("first"));
    ASSERT_NE(live.get(), nullptr);
    EXPECT_EQ(*live.get(), "first");
}

TEST(Live, ASnapshotIsNeverChangedBySet) {
    Live<std::string> live(std::make_shared<const std::string>("before"));
    std::shared_ptr<const std::string> taken = live.get();
    live.set(std::make_shared<const std::string>("after"));
    EXPECT_EQ(*taken, "before");        // the reader's snapshot is intact and alive
    EXPECT_EQ(*live.get(), "after");    // new readers see the new value
    live.set(std::shared_ptr<const std::string>());
    EXPECT_EQ(live.get(), nullptr);
    EXPECT_EQ(*taken, "before");
}

TEST(Live, ReadersOnOtherThreadsSeeOnlyWholeValuesThatWereSet) {
    // Each value is 64 copies of one letter: a torn or freed value would show mixed letters.
    Live<std::string> live(std::make_shared<const std::string>(64, 'a'));
    constexpr int kWrites = 2000;
    std::vector<std::thread> readers;
    std::vector<int> bad(4, 0);
    std::atomic<bool> done{false};
    for (int r = 0; r < 4; ++r)
        readers.emplace_back([&, r] {
            while (!done.load()) {
                std::shared_ptr<const std::string> v = live.get();
                if (!v || v->size() != 64 || v->find_first_not_of(v->front()) != std::string::npos) ++bad[r];
            }
        });
    for (int i = 0; i < kWrites; ++i) live.set(std::string(64, static_cast<char>('a' + i % 26)));
    done = true;
    for (std::thread& t : readers) t.join();
    for (int b : bad) EXPECT_EQ(b, 0);
    EXPECT_EQ(*live.get(), std::string(64, static_cast<char>('a' + (kWrites - 1) % 26)));
}

}  // namespace
}  // namespace rampart::util
