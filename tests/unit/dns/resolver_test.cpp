// Pure part of the MX look-up: ordering and null MX (RFC 5321 §5.1, RFC 7505).
#include "dns/resolver.hpp"

#include <gtest/gtest.h>

using rampart::dns::MxHost;
using rampart::dns::order_mx;

TEST(OrderMx, SortsByPreferenceStably) {
    auto r = order_mx("mx.test", {{"c.mx.test", 20, {}}, {"a.mx.test", 10, {}}, {"b.mx.test", 10, {}}, {"d.mx.test", 5, {}}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->size(), 4u);
    EXPECT_EQ((*r)[0].name, "d.mx.test");
    EXPECT_EQ((*r)[1].name, "a.mx.test");
    EXPECT_EQ((*r)[2].name, "b.mx.test");
    EXPECT_EQ((*r)[3].name, "c.mx.test");
}

TEST(OrderMx, NullMxIsPermanent) {
    auto r = order_mx("nullmx.test", {{".", 0, {}}});
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().permanent);
    EXPECT_NE(r.error().message.find("null MX"), std::string::npos);
}

TEST(OrderMx, RootAmongOthersIsDropped) {
    auto r = order_mx("mixed.test", {{".", 0, {}}, {"mx.mixed.test", 10, {}}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0].name, "mx.mixed.test");
}

TEST(OrderMx, EmptyIsPermanent) {
    auto r = order_mx("none.test", {});
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().permanent);
}

TEST(MorePreferredThanSelf, SelfNotListedKeepsAll) {
    bool loops = true;
    auto r = rampart::dns::more_preferred_than_self({{"a.mx.test", 10, {}}, {"b.mx.test", 20, {}}}, "mx1.example.test", loops);
    EXPECT_FALSE(loops);
    EXPECT_EQ(r.size(), 2u);
}

TEST(MorePreferredThanSelf, DropsSelfAndLessPreferred) {
    bool loops = true;
    auto r = rampart::dns::more_preferred_than_self({{"a.mx.test", 5, {}}, {"mx1.example.test", 10, {}}, {"b.mx.test", 10, {}},
                                       {"c.mx.test", 20, {}}},
                                      "MX1.Example.Test.", loops);
    EXPECT_FALSE(loops);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].name, "a.mx.test");
}

TEST(MorePreferredThanSelf, SelfMostPreferredLoops) {
    bool loops = false;
    auto r = rampart::dns::more_preferred_than_self({{"mx1.example.test", 10, {}}, {"b.mx.test", 20, {}}}, "mx1.example.test", loops);
    EXPECT_TRUE(loops);
    EXPECT_TRUE(r.empty());
}
