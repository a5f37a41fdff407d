// [[transport_rules]]: conditions and actions as data, checked at load with file:line
// errors, every error of the file reported at once.
#include "config/load.hpp"

#include <gtest/gtest.h>

#include "load_helpers.hpp"

using namespace rampart::config;
using rampart::config::test::config_of;
using rampart::config::test::errors_of;

namespace {

std::string all_text(const std::vector<ConfigError>& errors) {
    std::string out;
    for (const ConfigError& e : errors) out += e.text() + "\n";
    return out;
}

}  // namespace

TEST(TransportRulesSettings, RulesInOrderWithConditionsAndActions) {
    Config c = config_of(R"(
[content_filter]
engine = "none"

[[transport_rules]]
name = "tag outside mail"
from_scope = "outside"
to_scope = "inside"
prepend_subject = "[EXTERNAL] "

[[transport_rules]]
name = "invoices"
from = ["a@x.test", "x.test", "*.x.test"]
to = ["boss@example.test"]
header_contains = { name = "Subject", words = ["invoice"] }
header_matches = { name = "X-Mailer", pattern = "*PHPMailer*" }
subject_contains = ["pay now"]
body_contains = ["wire transfer"]
attachment_name = ["*.docm"]
attachment_type = ["Application/Zip"]
size_over = "10MiB"
scl_at_least = 5
add_header = ["X-A: b"]
set_header = ["X-C: d"]
remove_header = ["X-B"]
set_scl = 9
redirect = ["archive@example.test"]
bcc = ["audit@example.test"]
quarantine = true
stop = true

[[transport_rules]]
name = "no"
reject = { code = 550, status = "5.7.1", text = "not here" }
)");
    ASSERT_EQ(c.transport_rules.size(), 3u);
    const TransportRule& a = c.transport_rules[0];
    EXPECT_EQ(a.name, "tag outside mail");
    EXPECT_EQ(a.from_scope, RuleScope::Outside);
    EXPECT_EQ(a.to_scope, RuleScope::Inside);
    EXPECT_EQ(a.prepend_subject, "[EXTERNAL] ");
    EXPECT_EQ(a.line, 5);
    const TransportRule& b = c.transport_rules[1];
    EXPECT_EQ(b.from.size(), 3u);
    ASSERT_TRUE(b.header_contains);
    EXPECT_EQ(b.header_contains->name, "Subject");
    EXPECT_EQ(b.header_contains->words, std::vector<std::string>{"invoice"});
    ASSERT_TRUE(b.header_matches);
    EXPECT_EQ(b.header_matches->pattern, "*PHPMailer*");
    EXPECT_EQ(b.attachment_type, std::vector<std::string>{"application/zip"});
    EXPECT_EQ(b.size_over, 10u * 1024 * 1024);
    EXPECT_EQ(b.scl_at_least, 5);
    EXPECT_EQ(b.set_scl, 9);
    EXPECT_EQ(b.redirect, std::vector<std::string>{"archive@example.test"});
    EXPECT_TRUE(b.quarantine && b.stop);
    const TransportRule& r = c.transport_rules[2];
    ASSERT_TRUE(r.reject);
    EXPECT_EQ(r.reject->code, 550);
    EXPECT_EQ(r.reject->text, "not here");
}

TEST(TransportRulesSettings, EveryErrorWithFileAndLine) {
    auto errors = errors_of(R"([[transport_rules]]
name = "empty"

[[transport_rules]]
name = "conflict"
reject = { code = 550 }
redirect = ["archive@example.test"]

[[transport_rules]]
name = "bad reply"
reject = { code = 550, status = "4.7.1", text = "x" }

[[transport_rules]]
name = "bad address"
bcc = ["not an address"]

[[transport_rules]]
name = "unknown key"
frm = ["x.test"]
stop = true

[[transport_rules]]
name = "bad pattern"
header_matches = { name = "X-Mailer" }
stop = true

[[transport_rules]]
name = "scl"
scl_at_least = 5
stop = true

[[transport_rules]]
name = "empty"
drop = true
)");
    std::string all = all_text(errors);
    EXPECT_NE(all.find("test.toml:1: transport_rules[0]: rule \"empty\" has no action"), std::string::npos) << all;
    EXPECT_NE(all.find("test.toml:4: transport_rules[1].reject: reject ends the message: it cannot be combined"), std::string::npos) << all;
    EXPECT_NE(all.find("test.toml:11: transport_rules[2].reject.status: \"4.7.1\" is not an enhanced status code of class 5"), std::string::npos) << all;
    EXPECT_NE(all.find("test.toml:13: transport_rules[3]: rule \"bad address\" has no action"), std::string::npos) << all;   // its one action was bad
    EXPECT_NE(all.find("test.toml:15: transport_rules[3].bcc: \"not an address\" is not an address"), std::string::npos) << all;
    EXPECT_NE(all.find("test.toml:19: transport_rules[4].frm: unknown key"), std::string::npos) << all;
    EXPECT_NE(all.find("test.toml:24: transport_rules[5].header_matches.pattern: required key is missing"), std::string::npos) << all;
    EXPECT_NE(all.find("test.toml:27: transport_rules[6].scl_at_least: needs [content_filter]"), std::string::npos) << all;
    EXPECT_NE(all.find("test.toml:32: transport_rules[7].name: duplicate rule name \"empty\""), std::string::npos) << all;
    EXPECT_EQ(errors.size(), 9u) << all;
}

TEST(TransportRulesSettings, ValuesChecked) {
    auto errors = errors_of(R"([[transport_rules]]
name = "values"
add_header = ["no colon here"]
remove_header = ["Bad Name"]
from = ["@@"]
from_scope = "elsewhere"
set_scl = 10
reject = { code = 250, text = "a\nb" }
)");
    std::string all = all_text(errors);
    for (const char* want : {"test.toml:3: transport_rules[0].add_header:", "test.toml:4: transport_rules[0].remove_header:",
                             "test.toml:5: transport_rules[0].from:", "test.toml:6: transport_rules[0].from_scope: unknown value",
                             "test.toml:7: transport_rules[0].set_scl:", "test.toml:8: transport_rules[0].reject.code:"})
        EXPECT_NE(all.find(want), std::string::npos) << want << "\n" << all;
}

TEST(TransportRulesSettings, NameRequired) {
    auto errors = errors_of("[[transport_rules]]\nstop = true\n");
    ASSERT_FALSE(errors.empty());
    EXPECT_NE(all_text(errors).find("test.toml:1: transport_rules[0].name: required key is missing"), std::string::npos) << all_text(errors);
}
