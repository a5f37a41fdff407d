// Unit test for console::audit_change: one JSON line per change in the audit file.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "console/console.hpp"

namespace rampart::console {
namespace {

TEST(ConsoleAudit, AppendsOneJsonLinePerChangeWithTheUser) {
    auto dir = std::filesystem::temp_directory_path() / ("console-audit-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto file = dir / "console-audit.log";
    std::filesystem::remove(file);
    set_audit_file(file);
    audit_change(Viewer{"admin", "x"}, "listener internet: relay", "mode = \"only-list\"\nnext line");
    audit_change(Viewer{"carol", "y"}, "queue: delete 1A2B", "");
    set_audit_file({});
    std::ifstream in(file);
    std::vector<nlohmann::json> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0]["user"], "admin");
    EXPECT_EQ(lines[0]["what"], "listener internet: relay");
    EXPECT_EQ(lines[0]["detail"], "mode = \"only-list\"\nnext line");
    EXPECT_EQ(lines[1]["user"], "carol");
    EXPECT_TRUE(lines[1]["time"].get<std::string>().ends_with("Z"));
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace rampart::console
