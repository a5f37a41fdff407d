// Unit tests for console/directory_page: nested groups resolved, console sign-in, escaping.
#include "console/directory_page.hpp"

#include <gtest/gtest.h>

namespace rampart::console {
namespace {

directory::Directory sample() {
    directory::Directory d;
    d.users.push_back({"alice", {"alice@example.com"}, {}, "", false, {}, ""});   // direct: from ops' members
    d.users.push_back({"bob", {"<bob>@example.com"}, {"staff"}, "", false, {}, ""});
    d.groups.push_back({"rampart-admins", {"group:ops"}});
    d.groups.push_back({"ops", {"user:alice"}});
    d.groups.push_back({"staff", {"user:bob"}});
    d.servers.push_back({"edge1", {"edge1@example.com"}, "ab12", {}});
    return d;
}

TEST(DirectoryPage, NestedMembership) {
    auto d = sample();
    EXPECT_EQ(users_in_group(d, "rampart-admins"), (std::vector<std::string>{"alice"}));
    EXPECT_EQ(users_in_group(d, "staff"), (std::vector<std::string>{"bob"}));
}

TEST(DirectoryPage, TablesShowNestedGroupsAndSignIn) {
    auto d = sample();
    std::string html = directory_html(d, "rampart-admins", std::nullopt, std::nullopt, std::nullopt);
    EXPECT_NE(html.find("<tr data-user=\"alice\"><td>alice</td><td>alice@example.com</td><td>ops</td><td>ops<br>rampart-admins</td><td>yes</td>"),
              std::string::npos)
        << html;
    EXPECT_NE(html.find("&lt;bob&gt;@example.com"), std::string::npos);
    EXPECT_NE(html.find("<tr data-group=\"rampart-admins\"><td>rampart-admins</td><td>group:ops</td><td>alice</td></tr>"), std::string::npos);
    EXPECT_NE(html.find("<code>ab12</code>"), std::string::npos);
}

}  // namespace
}  // namespace rampart::console
