// tests/unit/config/reload_test.cpp — config::keep_restart_only: which changed settings a
// reload names as needing a restart, and that their running values are kept while live
// settings take the new ones.
#include "config/reload.hpp"

#include <gtest/gtest.h>

#include "load_helpers.hpp"

namespace rampart::config {
namespace {

const char* kBase = R"(
[server]
hostname = "mx.test"
data_dir = "var"
log_level = "info"

[[domains]]
name = "example.test"

[[listeners]]
name = "in"
bind = ["127.0.0.1:2525"]
relay = { mode = "only-list", list = ["127.0.0.5/32"] }

[queue]
retry_interval = "2s"
)";

std::string with(std::string text, const std::string& from, const std::string& to) {
    auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
}

TEST(KeepRestartOnly, UnchangedFileNamesNothing) {
    Config running = test::config_of(kBase), next = test::config_of(kBase);
    EXPECT_TRUE(keep_restart_only(running, kBase, next, kBase).empty());
}

TEST(KeepRestartOnly, LiveSettingsTakeTheNewValue) {
    std::string text = with(with(kBase, "127.0.0.5/32", "127.0.0.6/32"), "log_level = \"info\"", "log_level = \"debug\"");
    Config running = test::config_of(kBase), next = test::config_of(text);
    EXPECT_TRUE(keep_restart_only(running, kBase, next, text).empty());
    EXPECT_EQ(next.server.log_level, "debug");
    ASSERT_EQ(next.listeners.size(), 1u);
    ASSERT_EQ(next.listeners[0].relay.list.size(), 1u);
    EXPECT_EQ(next.listeners[0].relay.list[0].text(), "127.0.0.6/32");
}

TEST(KeepRestartOnly, RestartOnlySettingsAreNamedAndKept) {
    std::string text = with(with(kBase, "data_dir = \"var\"", "data_dir = \"elsewhere\"\nthreads = 3"),
                            "retry_interval = \"2s\"", "retry_interval = \"9s\"");
    Config running = test::config_of(kBase), next = test::config_of(text);
    std::vector<std::string> changed = keep_restart_only(running, kBase, next, text);
    EXPECT_EQ(changed, (std::vector<std::string>{"server.data_dir", "server.threads", "queue"}));
    EXPECT_EQ(next.server.data_dir, running.server.data_dir);
    EXPECT_EQ(next.server.threads, running.server.threads);
    EXPECT_EQ(next.queue.retry_interval, running.queue.retry_interval);
}

TEST(KeepRestartOnly, AddedTableCountsAsChanged) {
    std::string text = std::string(kBase) + "\n[dns]\ntimeout = \"3s\"\n";
    Config running = test::config_of(kBase), next = test::config_of(text);
    EXPECT_EQ(keep_restart_only(running, kBase, next, text), (std::vector<std::string>{"dns"}));
}

}  // namespace
}  // namespace rampart::config
