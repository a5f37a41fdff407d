// Antivirus engines and milters are named in log lines, `explain`, the verdict cache key
// and the agent list: two with one name would make those ambiguous, so loading refuses it.
#include <string>

#include <gtest/gtest.h>

#include "load_helpers.hpp"

using namespace rampart::config::test;

namespace {
std::string all_text(const std::vector<rampart::config::ConfigError>& errors) {
    std::string all;
    for (const auto& e : errors) all += e.text() + "\n";
    return all;
}
}  // namespace

TEST(FilterNamesSettings, DuplicateEngineAndMilterNamesAreRefusedWithTheirLines) {
    auto errors = errors_of(R"([antivirus]
[[antivirus.engines]]
name = "av"
type = "clamd"
address = "127.0.0.1:3310"
[[antivirus.engines]]
name = "av"
type = "clamd"
address = "127.0.0.1:3311"

[[milters]]
name = "dkim"
address = "inet:127.0.0.1:8891"
[[milters]]
name = "dkim"
address = "inet:127.0.0.1:8892"
)");
    std::string all = all_text(errors);
    EXPECT_NE(all.find("test.toml:6: antivirus.engines.name: duplicate engine name \"av\""), std::string::npos) << all;
    EXPECT_NE(all.find("test.toml:14: milters.name: duplicate milter name \"dkim\""), std::string::npos) << all;
    EXPECT_EQ(errors.size(), 2u) << all;
}

TEST(FilterNamesSettings, DistinctNamesLoad) {
    auto c = config_of(R"([antivirus]
[[antivirus.engines]]
name = "a"
type = "clamd"
address = "127.0.0.1:3310"
[[antivirus.engines]]
name = "b"
type = "clamd"
address = "127.0.0.1:3311"
)");
    EXPECT_EQ(c.antivirus.engines.size(), 2u);
}
