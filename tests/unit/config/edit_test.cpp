#include "config/edit.hpp"

#include <gtest/gtest.h>

#include "config/load.hpp"

using namespace rampart::config;

namespace {

std::string edit(const std::string& text, const std::string& listener, std::vector<ListenerEdit> edits,
                 std::vector<std::string> defaults = {}) {
    auto r = edit_listener(text, listener, edits, defaults);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? *r : std::string();
}

std::string refused(const std::string& text, const std::string& listener, std::vector<ListenerEdit> edits,
                    std::vector<std::string> defaults = {}) {
    auto r = edit_listener(text, listener, edits, defaults);
    EXPECT_FALSE(r) << *r;
    return r ? std::string() : r.error().message;
}

const std::string kFile =
    "# rampart.toml — the gateway\n"
    "[server]\n"
    "role = \"gateway\"   # edge of the network\n"
    "\n"
    "# [[listeners]]\n"
    "# name = \"internet\"  (an old listener, commented out)\n"
    "\n"
    "[[listeners]]\n"
    "name = \"submission\"\n"
    "bind = [\"127.0.0.1:2587\"]\n"
    "\n"
    "[[listeners]]\n"
    "  name = 'internet'   # port 25\n"
    "  bind = [\n"
    "    \"127.0.0.1:2525\",   # loopback\n"
    "    \"[::1]:2525\",\n"
    "  ]\n"
    "  tls = \"starttls\"\n"
    "\n"
    "[listeners.relay]\n"
    "# who may relay\n"
    "list = [\"192.0.2.10/32\"]\n"
    "\n"
    "[admin]\n"
    "bind = \"127.0.0.1:9025\"\n";

}  // namespace

TEST(ConfigEdit, ReplacesAKeyInASubTableKeepingEverythingElse) {
    std::string out = edit(kFile, "internet", {{"relay", "list", toml_array({"192.0.2.10/32", "198.51.100.0/24"})}});
    std::string want = kFile;
    want.replace(want.find("list = [\"192.0.2.10/32\"]"), 24, "list = [\"192.0.2.10/32\", \"198.51.100.0/24\"]");
    EXPECT_EQ(out, want);
}

TEST(ConfigEdit, InsertsIntoTheSubTableAfterItsLastKey) {
    std::string out = edit(kFile, "internet", {{"relay", "allow_authenticated", "true"}});
    EXPECT_NE(out.find("list = [\"192.0.2.10/32\"]\nallow_authenticated = true\n\n[admin]"), std::string::npos) << out;
}

TEST(ConfigEdit, InsertsAfterTheNameLineWithItsIndentation) {
    std::string out = edit(kFile, "internet", {{"", "remote_ranges", toml_array({"192.0.2.0/24"})}});
    EXPECT_NE(out.find("  name = 'internet'   # port 25\n  remote_ranges = [\"192.0.2.0/24\"]\n  bind = ["), std::string::npos) << out;
    // The commented-out listener of the same name is not touched.
    EXPECT_NE(out.find("# name = \"internet\"  (an old listener, commented out)\n\n[[listeners]]"), std::string::npos);
}

TEST(ConfigEdit, NewDottedKeyWhenTheTableIsNotWritten) {
    std::string out = edit(kFile, "submission", {{"auth", "basic_requires_tls", "false"}});
    EXPECT_NE(out.find("name = \"submission\"\nauth.basic_requires_tls = false\nbind"), std::string::npos) << out;
}

TEST(ConfigEdit, ReplacesAMultiLineArrayKeepingTheLineComment) {
    std::string out = edit(kFile, "internet", {{"", "bind", toml_array({"127.0.0.1:2526"})}});
    EXPECT_NE(out.find("  bind = [\"127.0.0.1:2526\"]\n  tls = \"starttls\""), std::string::npos) << out;
    EXPECT_EQ(out.find("loopback"), std::string::npos);   // the old value's inner comments went with it
}

TEST(ConfigEdit, InlineTables) {
    std::string text = "[[listeners]]\nname = \"a\"\nauth = { anonymous = true, basic = false } # methods\n";
    EXPECT_EQ(edit(text, "a", {{"auth", "basic", "true"}}),
              "[[listeners]]\nname = \"a\"\nauth = { anonymous = true, basic = true } # methods\n");
    EXPECT_EQ(edit(text, "a", {{"auth", "integrated", "true"}}),
              "[[listeners]]\nname = \"a\"\nauth = { anonymous = true, basic = false, integrated = true } # methods\n");
    EXPECT_EQ(edit("[[listeners]]\nname = \"a\"\nauth = {}\n", "a", {{"auth", "server", "false"}}),
              "[[listeners]]\nname = \"a\"\nauth = { server = false }\n");
}

TEST(ConfigEdit, DottedKeysAreReplacedOrJoined) {
    std::string text = "[[listeners]]\nname = \"a\"\nrelay.mode = \"only-list\"\nfilters = true\n";
    EXPECT_EQ(edit(text, "a", {{"relay", "mode", "\"all-except-list\""}}),
              "[[listeners]]\nname = \"a\"\nrelay.mode = \"all-except-list\"\nfilters = true\n");
    EXPECT_EQ(edit(text, "a", {{"relay", "list", "[]"}}),
              "[[listeners]]\nname = \"a\"\nrelay.mode = \"only-list\"\nrelay.list = []\nfilters = true\n");
}

TEST(ConfigEdit, ListenersInAnyOrderAndQuotedNames) {
    std::string text = "[[listeners]]\n\"name\" = \"b\"\n[listeners.auth]\nbasic = true\n[[listeners]]\nname = \"a\"\n"
                       "[listeners.auth]\nbasic = false\n";
    std::string out = edit(text, "a", {{"auth", "basic", "true"}});
    EXPECT_EQ(out, "[[listeners]]\n\"name\" = \"b\"\n[listeners.auth]\nbasic = true\n[[listeners]]\nname = \"a\"\n"
                   "[listeners.auth]\nbasic = true\n");
    out = edit(text, "b", {{"auth", "basic", "false"}});
    EXPECT_EQ(out, "[[listeners]]\n\"name\" = \"b\"\n[listeners.auth]\nbasic = false\n[[listeners]]\nname = \"a\"\n"
                   "[listeners.auth]\nbasic = false\n");
}

TEST(ConfigEdit, ValuesWithQuotesAndNewlinesAreEscaped) {
    EXPECT_EQ(toml_string("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    std::string out = edit("[[listeners]]\nname = \"a\"\n", "a", {{"permissions", "submit", toml_array({"user:x\"\n[server]\nrole = \"hub"})}});
    EXPECT_EQ(out, "[[listeners]]\nname = \"a\"\npermissions.submit = [\"user:x\\\"\\n[server]\\nrole = \\\"hub\"]\n");
}

TEST(ConfigEdit, StringsThatLookLikeStructureAreNotStructure) {
    std::string text = "[server]\nhostname = \"\"\"\n[[listeners]]\nname = \"a\"\n\"\"\"\n[[listeners]]\nname = \"a\" # the real one\n";
    // A multi-line string holding a listener header is a string: only the real table is edited.
    auto r = edit_listener(text, "a", {{"", "filters", "true"}}, {});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, text + "filters = true\n");
}

TEST(ConfigEdit, AppendsTheDefaultListenersWhenThereAreNone) {
    std::string text = "[server]\nrole = \"all-in-one\"\nhostname = \"mx.example.test\"";
    std::string out = edit(text, "submission", {{"auth", "basic_requires_tls", "false"}}, {"internet", "submission"});
    EXPECT_EQ(out.substr(0, text.size() + 1), text + "\n");
    EXPECT_NE(out.find("[[listeners]]\nname = \"internet\"\n\n[[listeners]]\nname = \"submission\"\nauth.basic_requires_tls = false\n"),
              std::string::npos)
        << out;
    // The loader gives the written-out listeners the defaults' presets and addresses.
    auto before = load_text(text, "t", "/tmp");
    auto after = load_text(out, "t", "/tmp");
    ASSERT_TRUE(std::holds_alternative<Config>(before));
    ASSERT_TRUE(std::holds_alternative<Config>(after));
    const Config& b = std::get<Config>(before);
    const Config& a = std::get<Config>(after);
    ASSERT_EQ(b.listeners.size(), a.listeners.size());
    for (std::size_t i = 0; i < a.listeners.size(); ++i) {
        EXPECT_EQ(a.listeners[i].name, b.listeners[i].name);
        EXPECT_EQ(a.listeners[i].preset, b.listeners[i].preset);
        EXPECT_EQ(a.listeners[i].bind[0].text(), b.listeners[i].bind[0].text());
    }
    EXPECT_FALSE(a.listeners[1].auth.basic_requires_tls);
}

TEST(ConfigEdit, Refusals) {
    EXPECT_NE(refused(kFile, "nosuch", {{"", "filters", "true"}}).find("no [[listeners]] table named \"nosuch\""), std::string::npos);
    EXPECT_NE(refused("[[listeners]]\nname = \"a\"\n[[listeners]]\nname = \"a\"\n", "a", {{"", "filters", "true"}}).find("two"),
              std::string::npos);
    EXPECT_NE(refused("[server\n", "a", {{"", "filters", "true"}}).find("not valid TOML"), std::string::npos);
    EXPECT_NE(refused("listeners = [{ name = \"a\" }]\n", "a", {{"", "filters", "true"}}).find("no [[listeners]] table"), std::string::npos);
    EXPECT_NE(refused("[[listeners]]\nname = \"a\"\n", "a", {{"", "filters", "true\n[x]"}}).find("not a TOML value"), std::string::npos);
    EXPECT_NE(refused("[server]\n", "other", {{"", "filters", "true"}}, {"internet"}).find("no listener"), std::string::npos);
}

TEST(ConfigEdit, SeveralEditsInOneForm) {
    std::string out = edit(kFile, "internet",
                           {{"relay", "mode", "\"only-list\""}, {"relay", "list", "[]"}, {"relay", "allow_authenticated", "true"}});
    EXPECT_NE(out.find("[listeners.relay]\n# who may relay\nlist = []\nmode = \"only-list\"\nallow_authenticated = true\n\n[admin]"),
              std::string::npos)
        << out;
}

TEST(ConfigEdit, CrlfFilesKeepTheirLineEnds) {
    std::string text = "[[listeners]]\r\nname = \"a\"\r\n[listeners.auth]\r\nbasic = false\r\n";
    EXPECT_EQ(edit(text, "a", {{"", "filters", "true"}}), "[[listeners]]\r\nname = \"a\"\r\nfilters = true\r\n[listeners.auth]\r\nbasic = false\r\n");
    EXPECT_EQ(edit(text, "a", {{"auth", "basic", "true"}}), "[[listeners]]\r\nname = \"a\"\r\n[listeners.auth]\r\nbasic = true\r\n");
}
