#include "config/roles.hpp"

#include <gtest/gtest.h>

#include "config/load.hpp"
#include "config/load_helpers.hpp"

using namespace rampart::config;
using rampart::config::test::config_of;

namespace {

struct Row {
    Role role;
    bool anonymous, basic, integrated;
};
TEST(RolePresets, PerimeterListenersAdmitOrganisationServersOnly) {
    for (ListenerKind kind : {ListenerKind::FromHub, ListenerKind::FromEdge}) {
        Listener l = preset_listener(Role::Edge, kind);
        EXPECT_FALSE(l.auth.anonymous);
        EXPECT_FALSE(l.auth.basic);
        EXPECT_FALSE(l.auth.integrated);
        EXPECT_TRUE(l.auth.server);
        EXPECT_FALSE(l.filters);
        EXPECT_EQ(l.subscribed_edges_only, kind == ListenerKind::FromEdge);
    }
    Config hub = config_of("[server]\nrole = \"hub\"\n");
    EXPECT_TRUE(hub.listeners[0].subscribed_edges_only);
    EXPECT_EQ(hub.listeners[0].bind[0].text(), "127.0.0.1:2525");
    Config edge = config_of("[server]\nrole = \"edge\"\n");
    EXPECT_TRUE(edge.listeners[0].filters);
    EXPECT_EQ(edge.listeners[1].bind[0].text(), "127.0.0.1:2526");
    EXPECT_FALSE(edge.listeners[1].auth.anonymous);
}

}  // namespace

// DESIGN.md §4, column by column.
TEST(RolePresets, MatchTheDesignTable) {
    const Row rows[] = {
        {Role::Gateway, true, false, true},  {Role::Mailbox, false, false, true}, {Role::Frontend, false, false, false},
        {Role::AllInOne, true, false, true}, {Role::Edge, true, false, false},    {Role::Hub, false, false, true},
    };
    for (const Row& r : rows) {
        Listener l = preset_listener(r.role);
        SCOPED_TRACE(std::string(role_name(r.role)));
        EXPECT_EQ(l.auth.anonymous, r.anonymous);
        EXPECT_EQ(l.auth.basic, r.basic);
        EXPECT_EQ(l.auth.integrated, r.integrated);
        EXPECT_TRUE(l.auth.basic_requires_tls);
        EXPECT_TRUE(l.permissions.submit.empty());
        EXPECT_TRUE(l.permissions.relay.empty());
        EXPECT_EQ(l.relay.mode, RelayMode::OnlyList);
        EXPECT_TRUE(l.relay.list.empty());
        EXPECT_FALSE(l.relay.allow_authenticated);
        EXPECT_FALSE(l.relay.force_open_relay);
        EXPECT_GT(l.limits.auth_lockout_failures, 0u);
        EXPECT_GT(l.limits.max_messages_per_hour, 0u);
        EXPECT_EQ(l.bind.at(0).text(), "127.0.0.1:2525");
    }
}

TEST(RolePresets, SubmissionListenersTakePasswordsOnlyAfterTls) {
    for (const auto& [name, role] : kRoles) {
        Listener l = preset_listener(role, ListenerKind::Submission);
        SCOPED_TRACE(std::string(name));
        EXPECT_FALSE(l.auth.anonymous);
        EXPECT_TRUE(l.auth.basic);
        EXPECT_TRUE(l.auth.basic_requires_tls);
        EXPECT_FALSE(l.auth.server);
        EXPECT_EQ(l.tls, TlsMode::StartTls);
        EXPECT_EQ(l.bind.at(0).text(), "127.0.0.1:2587");
        EXPECT_TRUE(l.permissions.relay.empty());
    }
}

TEST(RolePresets, HubAdmitsOnlyThisHostUntilTheEdgesAreListed) {
    Listener l = preset_listener(Role::Hub);
    ASSERT_EQ(l.remote_ranges.size(), 2u);
    EXPECT_EQ(l.remote_ranges[0].text(), "127.0.0.0/8");
    EXPECT_FALSE(l.auth.anonymous);
    EXPECT_TRUE(l.auth.server);
}

TEST(RolePresets, DefaultListenersWhenNoneAreConfigured) {
    struct Want {
        const char* role;
        std::vector<std::string> names;
    };
    const Want wants[] = {{"gateway", {"internet"}}, {"mailbox", {"smtp"}}, {"frontend", {"smtp"}},
                          {"all-in-one", {"internet", "submission"}}, {"edge", {"internet", "from-hub"}}, {"hub", {"from-edge"}}};
    for (const Want& w : wants) {
        SCOPED_TRACE(w.role);
        Config c = config_of(std::string("[server]\nrole = \"") + w.role + "\"\n");
        std::vector<std::string> names;
        for (const Listener& l : c.listeners) names.push_back(l.name);
        EXPECT_EQ(names, w.names);
        for (const Listener& l : c.listeners) EXPECT_TRUE(l.internet_facing.has_value());
    }
    // The hub's from-edge listener takes TCP connections from anywhere (only subscribed
    // edges get past the connect rule), so it counts as internet-facing: the stricter rule.
    Config hub = config_of("[server]\nrole = \"hub\"\n");
    EXPECT_TRUE(*hub.listeners[0].internet_facing);
    Config hub_smtp = config_of("[server]\nrole = \"hub\"\n[[listeners]]\nname = \"smtp\"\n");
    EXPECT_FALSE(*hub_smtp.listeners[0].internet_facing);
    Config gw = config_of("[server]\nrole = \"gateway\"\n");
    EXPECT_TRUE(*gw.listeners[0].internet_facing);
}

TEST(RolePresets, KeysLeftOutTakeThePresetOfTheListenersKind) {
    Config c = config_of(R"([server]
role = "gateway"
[[listeners]]
name = "submission"
preset = "submission"
bind = ["127.0.0.1:3587"]
permissions = { relay = ["group:remote-workers"] }
[[listeners]]
name = "internet"
auth = { integrated = false }
)");
    ASSERT_EQ(c.listeners.size(), 2u);
    const Listener& sub = c.listeners[0];
    EXPECT_EQ(sub.preset, ListenerKind::Submission);
    EXPECT_TRUE(sub.auth.basic);
    EXPECT_FALSE(sub.auth.anonymous);
    EXPECT_TRUE(sub.auth.integrated);   // gateway row
    EXPECT_EQ(sub.bind[0].text(), "127.0.0.1:3587");
    const Listener& in = c.listeners[1];
    EXPECT_EQ(in.preset, ListenerKind::Smtp);
    EXPECT_EQ(in.bind[0].text(), "127.0.0.1:2525");
    EXPECT_TRUE(in.auth.anonymous);
    EXPECT_FALSE(in.auth.integrated);
    EXPECT_TRUE(in.auth.server);
}

TEST(RolePresets, ListenerNamedLikeADefaultTakesItsKind) {
    Config c = config_of("[server]\nrole = \"all-in-one\"\n[[listeners]]\nname = \"submission\"\n");
    EXPECT_EQ(c.listeners[0].preset, ListenerKind::Submission);
    EXPECT_EQ(c.listeners[0].bind[0].port, 2587);
}

TEST(RolePresets, UnknownPresetIsAnError) {
    auto r = load_text("[[listeners]]\nname = \"a\"\npreset = \"relay\"\n", "t.toml", "/tmp");
    auto* e = std::get_if<std::vector<ConfigError>>(&r);
    ASSERT_NE(e, nullptr);
    ASSERT_EQ(e->size(), 1u);
    EXPECT_EQ((*e)[0].key, "listeners[0].preset");
    EXPECT_NE((*e)[0].fix.find("submission"), std::string::npos);
}

TEST(RolePresets, InternetFacingFollowsRemoteRangesUnlessSet) {
    Config c = config_of(R"([[listeners]]
name = "a"
remote_ranges = ["10.0.0.0/8", "192.168.0.0/16"]
[[listeners]]
name = "b"
bind = ["127.0.0.1:2526"]
remote_ranges = ["10.0.0.0/8", "198.51.100.0/24"]
[[listeners]]
name = "c"
bind = ["127.0.0.1:2527"]
internet_facing = true
remote_ranges = ["10.0.0.0/8"]
)");
    EXPECT_FALSE(*c.listeners[0].internet_facing);
    EXPECT_TRUE(*c.listeners[1].internet_facing);
    EXPECT_TRUE(*c.listeners[2].internet_facing);
}
