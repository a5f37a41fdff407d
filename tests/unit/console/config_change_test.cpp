// Unit tests for console/config_change: a listener change as a transaction on a real file.
// The reload is the caller's (cli::Reloader in serve); here it only counts its calls —
// tests/integration/test_console_listeners.py runs the real one.
#include "console/config_change.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include "config/load.hpp"
#include "util/file_io.hpp"

namespace rampart::console {
namespace {

const std::string kText =
    "# the test configuration\n"
    "[server]\n"
    "role = \"gateway\"\n"
    "data_dir = \"var\"\n"
    "\n"
    "[[listeners]]\n"
    "name = \"internet\"   # port 25\n"
    "bind = [\"127.0.0.1:2525\"]\n";

struct Fixture : ::testing::Test {
    std::filesystem::path dir, file;
    int reloads = 0;
    Services services;
    Viewer viewer{"admin", "t"};

    void SetUp() override {
        char tmpl[] = "/tmp/config_change_XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir = tmpl;
        file = dir / "rampart.toml";
        std::ofstream(file) << kText;
        ::chmod(file.c_str(), 0640);
        services.config_path = file;
        services.config = [this] {
            auto r = config::load_text(kText, file.string(), dir.string());
            return std::make_shared<const config::Config>(std::get<config::Config>(std::move(r)));
        };
        services.reload_config = [this]() -> Result<Ok> {
            ++reloads;
            return Ok{};
        };
    }
    void TearDown() override { std::filesystem::remove_all(dir); }
    std::string content() { return *util::read_file(file); }
};

TEST_F(Fixture, AGoodChangeIsWrittenInPlaceKeepingTheModeAndReloaded) {
    ChangeOutcome o = change_listener(services, viewer, {"internet", {{"relay", "allow_authenticated", "true"}}, text_hash(kText)});
    ASSERT_EQ(o.status, ChangeOutcome::Applied) << o.message;
    EXPECT_EQ(content(), "# the test configuration\n[server]\nrole = \"gateway\"\ndata_dir = \"var\"\n\n[[listeners]]\n"
                         "name = \"internet\"   # port 25\nrelay.allow_authenticated = true\nbind = [\"127.0.0.1:2525\"]\n");
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    EXPECT_EQ(reloads, 1);
    ASSERT_EQ(o.changed.size(), 1u);
    EXPECT_EQ(o.changed[0].setting, "relay.allow_authenticated");
    EXPECT_EQ(o.changed[0].before, "false");
    EXPECT_EQ(o.changed[0].after, "true");
    ASSERT_EQ(o.new_findings.size(), 1u);   // check's exposure for the new departure
    EXPECT_EQ(o.new_findings[0].setting, "relay.allow_authenticated");
    // No temporary file left behind.
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 1);
}

TEST_F(Fixture, AnOpenRelayIsRefusedWithTheLoadersReasonAndNothingWritten) {
    ChangeOutcome o = change_listener(services, viewer, {"internet", {{"relay", "mode", "\"all-except-list\""}}, text_hash(kText)});
    EXPECT_EQ(o.status, ChangeOutcome::Refused);
    EXPECT_NE(o.message.find("this relay setting makes an open relay"), std::string::npos) << o.message;
    EXPECT_NE(o.message.find(file.string() + ":"), std::string::npos) << o.message;
    EXPECT_EQ(content(), kText);
    EXPECT_EQ(reloads, 0);
}

TEST_F(Fixture, AStaleFormIsRefused) {
    ChangeOutcome o = change_listener(services, viewer, {"internet", {{"", "filters", "false"}}, text_hash(kText + "#")});
    EXPECT_EQ(o.status, ChangeOutcome::Stale);
    EXPECT_NE(o.message.find("changed meanwhile"), std::string::npos);
    EXPECT_EQ(content(), kText);
}

TEST_F(Fixture, TheEmbeddedDefaultIsReadOnly) {
    services.config_path.clear();
    ChangeOutcome o = change_listener(services, viewer, {"internet", {{"", "filters", "false"}}, text_hash(kText)});
    EXPECT_EQ(o.status, ChangeOutcome::Refused);
    EXPECT_NE(o.message.find("-c FILE"), std::string::npos);
}

TEST_F(Fixture, AFailedReloadSaysSo) {
    services.reload_config = []() -> Result<Ok> { return Error{0, "boom"}; };
    ChangeOutcome o = change_listener(services, viewer, {"internet", {{"", "filters", "false"}}, text_hash(kText)});
    EXPECT_EQ(o.status, ChangeOutcome::NotApplied);
    EXPECT_NE(o.message.find("boom"), std::string::npos);
}

}  // namespace
}  // namespace rampart::console
