#include "config/check.hpp"

#include <gtest/gtest.h>

#include "config/load.hpp"
#include "config/load_helpers.hpp"
#include "config/roles.hpp"

using namespace rampart::config;
using rampart::config::test::config_of;
using rampart::config::test::errors_of;

namespace {
const Finding* find(const std::vector<Finding>& f, const std::string& setting) {
    for (const Finding& x : f)
        if (x.setting == setting) return &x;
    return nullptr;
}
std::string listener(const std::string& keys, const std::string& role = "gateway") {
    return "[server]\nrole = \"" + role + "\"\n[[listeners]]\nname = \"internet\"\n" + keys + "\n";
}
}  // namespace

TEST(Check, EveryPresetFollowsItself) {
    for (const auto& [name, role] : kRoles) {
        Config c = config_of("[server]\nrole = \"" + std::string(name) + "\"\n");
        std::vector<Finding> f = analyse(c);
        EXPECT_TRUE(f.empty()) << name << ": " << render_findings(c, f);
        EXPECT_NE(render_findings(c, f).find("follows the preset"), std::string::npos);
    }
}

// One row per loosening: the departure is reported as an exposure with its reason.
TEST(Check, LooseningsAreExposures) {
    struct Case {
        std::string keys;
        std::string setting;
        std::string words;
    };
    const Case cases[] = {
        {"relay = { allow_authenticated = true }", "relay.allow_authenticated", "stolen login"},
        {"auth = { basic = true, basic_requires_tls = false }", "auth.basic_requires_tls", "in clear"},
        {"auth = { basic = true }", "auth.basic", "stolen password"},
        {"permissions = { relay = [\"authenticated\"] }", "permissions.relay", "every authenticated user may relay"},
        {"permissions = { submit = [\"authenticated\"] }", "permissions.submit", "servers-only"},
        {"tls = \"none\"", "tls", "in clear"},
        {"internet_facing = false", "internet_facing", "forged"},
        {"relay = { list = [\"10.0.0.0/8\"] }", "relay.list", "wide"},
        {"limits = { auth_lockout_failures = 0 }", "limits.auth_lockout_failures", "no lockout"},
        {"limits = { max_messages_per_hour = 0 }", "limits.max_messages_per_hour", "without bound"},
        {"limits = { max_recipients_per_hour = 100000 }", "limits.max_recipients_per_hour", "more recipients"},
        {"limits = { auth_failure_delay = \"0s\" }", "limits.auth_failure_delay", "guessing"},
        {"forbid_unauth_pipelining = false", "forbid_unauth_pipelining", "smuggling"},
    };
    for (const Case& k : cases) {
        SCOPED_TRACE(k.keys);
        std::vector<Finding> f = analyse(config_of(listener(k.keys)));
        const Finding* x = find(f, k.setting);
        ASSERT_NE(x, nullptr);
        EXPECT_EQ(x->severity, Severity::Exposure);
        EXPECT_NE(x->text.find(k.words), std::string::npos) << x->text;
        EXPECT_EQ(x->listener, "internet");
    }
    std::vector<Finding> f = analyse(config_of(listener("relay = { allow_authenticated = true }")));
    EXPECT_EQ(find(f, "relay.allow_authenticated")->value, "true");
    EXPECT_EQ(find(f, "relay.allow_authenticated")->preset, "false");
}

// On by default in every role's presets, for every listener kind.
TEST(Check, ForbidUnauthPipeliningIsOnInEveryPreset) {
    for (const auto& [name, role] : kRoles) {
        Config c = config_of("[server]\nrole = \"" + std::string(name) + "\"\n");
        for (const Listener& l : c.listeners) EXPECT_TRUE(l.forbid_unauth_pipelining) << name << " " << l.name;
    }
    Config off = config_of(listener("forbid_unauth_pipelining = false"));
    EXPECT_FALSE(off.listeners.at(0).forbid_unauth_pipelining);
}

TEST(Check, NarrowGrantsAndTighteningsAreInformational) {
    std::vector<Finding> f = analyse(config_of(listener(
        "relay = { list = [\"192.0.2.10/32\"] }\npermissions = { relay = [\"group:relay-apps\"] }\n"
        "auth = { anonymous = false }\nlimits = { max_messages_per_hour = 10 }")));
    for (const char* s : {"relay.list", "permissions.relay", "auth.anonymous", "limits.max_messages_per_hour"}) {
        const Finding* x = find(f, s);
        ASSERT_NE(x, nullptr) << s;
        EXPECT_EQ(x->severity, Severity::Info) << s;
    }
}

TEST(Check, HubOpenToTheWorldIsAnExposure) {
    std::vector<Finding> f = analyse(config_of("[server]\nrole = \"hub\"\n[[listeners]]\nname = \"smtp\"\nremote_ranges = [\"0.0.0.0/0\"]\n"));
    const Finding* x = find(f, "remote_ranges");
    ASSERT_NE(x, nullptr);
    EXPECT_EQ(x->severity, Severity::Exposure);
    EXPECT_NE(x->text.find("edges"), std::string::npos);
}

TEST(Check, OpenRelays) {
    auto l = [](const std::string& keys) {
        Config c = config_of(listener(keys + "\nrelay.force_open_relay = true"));
        return c.listeners.empty() ? std::string("?") : open_relay(c.listeners[0]);
    };
    EXPECT_NE(l("relay.list = [\"0.0.0.0/0\"]"), "");
    EXPECT_NE(l("relay.list = [\"::/0\"]"), "");
    EXPECT_NE(l("relay.list = [\"0.0.0.0/1\", \"128.0.0.0/1\"]"), "");
    EXPECT_NE(l("relay.mode = \"all-except-list\""), "");
    EXPECT_NE(l("relay.mode = \"all-except-list\"\nrelay.list = [\"10.0.0.0/8\"]"), "");
    EXPECT_EQ(l("relay.list = [\"192.0.2.0/24\", \"2001:db8::/48\"]"), "");
    EXPECT_EQ(l("relay.list = []"), "");
    // Everyone who may connect is on a private network: "all except" is internal relaying.
    EXPECT_EQ(l("remote_ranges = [\"10.0.0.0/8\"]\nrelay.mode = \"all-except-list\"\nrelay.list = [\"10.9.9.9\"]"), "");
}

TEST(Check, OpenRelayRefusedUnlessForcedAndThenDangerous) {
    auto errs = errors_of(listener("relay = { list = [\"0.0.0.0/0\"] }"));
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_EQ(errs[0].key, "listeners[0].relay");
    EXPECT_NE(errs[0].problem.find("open relay"), std::string::npos);
    EXPECT_NE(errs[0].fix.find("force_open_relay"), std::string::npos);
    Config c = config_of(listener("relay = { list = [\"0.0.0.0/0\"], force_open_relay = true }"));
    std::vector<Finding> f = analyse(c);
    const Finding* x = find(f, "relay.force_open_relay");
    ASSERT_NE(x, nullptr);
    EXPECT_EQ(x->severity, Severity::Danger);
    EXPECT_NE(render_findings(c, f).find("DANGER"), std::string::npos);
}

TEST(Check, PublicAddresses) {
    auto cidrs = [](std::initializer_list<const char*> v) {
        std::vector<rampart::net::Cidr> out;
        for (const char* s : v) out.push_back(*rampart::net::Cidr::parse(s));
        return out;
    };
    EXPECT_TRUE(admits_public_addresses({}));
    EXPECT_TRUE(admits_public_addresses(cidrs({"0.0.0.0/0"})));
    EXPECT_TRUE(admits_public_addresses(cidrs({"10.0.0.0/8", "2001:db8::/32"})));
    EXPECT_FALSE(admits_public_addresses(cidrs({"10.0.0.0/8", "172.16.0.0/12", "192.168.1.0/24", "127.0.0.1", "::1", "fd00::/8"})));
}

// Issue 14: an mx connector that may connect to loopback and private addresses is an
// exposure; a smart-host connector is not (the administrator named its hosts).
TEST(Check, PrivateDestinationsOfAnMxConnectorAreAnExposure) {
    const std::string connector = "[[send_connectors]]\nname = \"internet\"\naddress_spaces = [\"*\"]\n";
    Config off = config_of("[server]\nrole = \"gateway\"\n" + connector);
    EXPECT_TRUE(analyse(off).empty());
    Config on = config_of("[server]\nrole = \"gateway\"\n" + connector + "allow_private_destinations = true\n");
    std::vector<Finding> f = analyse(on);
    const Finding* x = find(f, "allow_private_destinations");
    ASSERT_NE(x, nullptr);
    EXPECT_EQ(x->severity, Severity::Exposure);
    EXPECT_EQ(x->connector, "internet");
    std::string report = render_findings(on, f);
    EXPECT_NE(report.find("send connector \"internet\" (route mx)"), std::string::npos) << report;
    EXPECT_NE(report.find("1 exposure(s)"), std::string::npos) << report;
    Config smarthost = config_of("[server]\nrole = \"gateway\"\n" + connector +
                                 "route = \"smarthost\"\nsmarthosts = [\"127.0.0.1:25\"]\nallow_private_destinations = true\n");
    EXPECT_TRUE(analyse(smarthost).empty());
}

// The relay list is judged as a whole: entries that are each narrow enough can together
// admit the whole Internet (issue 14: all 512 /9 blocks loaded without force_open_relay).
TEST(Check, OpenRelaysAreJudgedOnTheUnionOfTheList) {
    auto relay_of = [](const std::vector<std::string>& list, RelayMode mode = RelayMode::OnlyList,
                       const std::vector<std::string>& remote = {}) {
        Listener l;
        l.relay.mode = mode;
        for (const std::string& s : list) l.relay.list.push_back(*rampart::net::Cidr::parse(s));
        for (const std::string& s : remote) l.remote_ranges.push_back(*rampart::net::Cidr::parse(s));
        return open_relay(l);
    };
    auto v4_blocks = [](unsigned prefix, unsigned count, unsigned first = 0) {
        std::vector<std::string> out;
        for (unsigned i = first; i < first + count; ++i) {
            std::uint32_t base = prefix == 0 ? 0 : i << (32 - prefix);
            out.push_back(std::to_string(base >> 24) + "." + std::to_string((base >> 16) & 255) + "." +
                          std::to_string((base >> 8) & 255) + "." + std::to_string(base & 255) + "/" + std::to_string(prefix));
        }
        return out;
    };
    std::string all9 = relay_of(v4_blocks(9, 512));
    EXPECT_NE(all9.find("together admit every IPv4 address"), std::string::npos) << all9;
    EXPECT_NE(relay_of(v4_blocks(8, 256)), "");
    // More than a /8 of public addresses in all is a large part of the Internet...
    std::string three = relay_of(v4_blocks(9, 3, 22));   // 11.0.0.0/9 .. 12.0.0.0/9
    EXPECT_NE(three.find("large part of the Internet"), std::string::npos) << three;
    // ... a /8's worth is not, and private ranges do not count.
    EXPECT_EQ(relay_of(v4_blocks(9, 2, 22)), "");
    EXPECT_EQ(relay_of({"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "11.0.0.0/9"}), "");
    // Overlapping entries are counted once.
    EXPECT_EQ(relay_of({"11.0.0.0/8", "11.0.0.0/9", "11.128.0.0/9", "11.1.2.0/24"}), "");
    // IPv6: more than a /16 of public addresses, or all of them.
    EXPECT_NE(relay_of({"2001::/16", "2a00::/16"}), "");
    EXPECT_EQ(relay_of({"2001::/16", "fc00::/7", "fe80::/10"}), "");
    std::vector<std::string> all16;
    for (unsigned i = 0; i < 65536; ++i) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%x::/16", i);
        all16.push_back(buf);
    }
    std::string every6 = relay_of(all16);
    EXPECT_NE(every6.find("together admit every IPv6 address"), std::string::npos) << every6;
    // all-except-list: excluded addresses are the union too; nobody left means no open relay.
    std::vector<std::string> everything = v4_blocks(9, 512);
    everything.push_back("::/1");
    everything.push_back("8000::/1");
    EXPECT_EQ(relay_of(everything, RelayMode::AllExceptList, {"0.0.0.0/0", "::/0"}), "");
    everything.pop_back();
    std::string left = relay_of(everything, RelayMode::AllExceptList, {"0.0.0.0/0", "::/0"});
    EXPECT_NE(left.find("::/0"), std::string::npos) << left;
}

TEST(Check, ListenerValuesAndOneFindingAsTheReportShowsThem) {
    Config c = config_of(listener("relay.allow_authenticated = true"));
    std::vector<SettingValue> values = listener_values(c, c.listeners[0]);
    bool seen = false;
    for (const SettingValue& v : values)
        if (v.setting == "relay.allow_authenticated") {
            seen = true;
            EXPECT_EQ(v.value, "true");
            EXPECT_EQ(v.preset, "false");
        }
    EXPECT_TRUE(seen);
    std::vector<Finding> f = analyse(c);
    const Finding* x = find(f, "relay.allow_authenticated");
    ASSERT_NE(x, nullptr);
    EXPECT_NE(render_findings(c, f).find(render_finding(*x)), std::string::npos);
}
