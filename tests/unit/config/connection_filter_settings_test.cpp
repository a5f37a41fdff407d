// [connection_filter]'s DNS list keys: block_providers (zone, match), allow_providers
// (zone), refuse_at; zone names folded, defaults as documented.
#include "config/load.hpp"

#include <gtest/gtest.h>

#include "load_helpers.hpp"

using namespace rampart::config;
using rampart::config::test::config_of;
using rampart::config::test::errors_of;

TEST(ConnectionFilterSettings, ProvidersAndRefuseAt) {
    Config c = config_of(R"(
[connection_filter]
refuse_at = "connect"
[[connection_filter.block_providers]]
zone = "BL.Example.Test."
match = ["127.0.0.2", "127.0.0.4/30"]
[[connection_filter.block_providers]]
zone = "second.test"
[[connection_filter.allow_providers]]
zone = "wl.example.test"
)");
    const ConnectionFilterSettings& f = c.connection_filter;
    EXPECT_TRUE(f.configured);
    EXPECT_EQ(f.refuse_at, RefuseAt::Connect);
    ASSERT_EQ(f.block_providers.size(), 2u);
    EXPECT_EQ(f.block_providers[0].zone, "bl.example.test");
    ASSERT_EQ(f.block_providers[0].match.size(), 2u);
    EXPECT_EQ(f.block_providers[0].match[1].text(), "127.0.0.4/30");
    EXPECT_TRUE(f.block_providers[1].match.empty());   // default: any 127.0.0.0/8
    ASSERT_EQ(f.allow_providers.size(), 1u);
    EXPECT_EQ(f.allow_providers[0].zone, "wl.example.test");
}

TEST(ConnectionFilterSettings, DefaultRefusesAtRcpt) {
    Config c = config_of("[connection_filter]\n");
    EXPECT_EQ(c.connection_filter.refuse_at, RefuseAt::Rcpt);
    EXPECT_TRUE(c.connection_filter.block_providers.empty());
}

TEST(ConnectionFilterSettings, BadZonesAreErrors) {
    for (const char* zone : {"", ".", "a..b", "bad zone", "x/y"}) {
        auto e = errors_of(std::string("[connection_filter]\n[[connection_filter.allow_providers]]\nzone = \"") + zone + "\"\n");
        ASSERT_EQ(e.size(), 1u) << zone;
        EXPECT_NE(e[0].text().find("connection_filter.allow_providers[0].zone"), std::string::npos) << e[0].text();
    }
}
