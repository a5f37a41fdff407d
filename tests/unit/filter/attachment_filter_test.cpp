#include "filter/attachment_filter.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "config/load.hpp"
#include "filter/registry.hpp"
#include "mime/parser.hpp"
#include "mime/rewrite.hpp"
#include "mime/transfer_decoder.hpp"

using namespace rampart;
using Kind = filter::AgentVerdict::Kind;
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The corpus: written by tests/unit/filter/attachments/make_cases.py.
std::string eml(const std::string& name) {
    std::string text = read_file(fs::path(RAMPART_UNIT_DIR) / "filter" / "attachments" / (name + ".eml"));
    EXPECT_FALSE(text.empty()) << name;
    return text;
}

config::AttachmentFilterSettings preset(config::AttachmentAction action = config::AttachmentAction::Reject) {
    config::AttachmentFilterSettings s;   // names and types: the preset lists
    s.action = action;
    s.configured = true;
    return s;
}

filter::AgentVerdict judge(const filter::AttachmentFilter& f, const std::string& message) {
    mime::Structure s = mime::parse(message);
    return f.judge(message, s);
}

std::vector<filter::AttachmentHit> hits(const filter::AttachmentFilter& f, const std::string& message) {
    mime::Structure s = mime::parse(message);
    return f.inspect(message, s);
}

}  // namespace

TEST(AttachmentFilter, Globs) {
    EXPECT_TRUE(filter::glob_match("*.exe", "EVIL.EXE"));
    EXPECT_TRUE(filter::glob_match("*.exe", ".exe"));
    EXPECT_TRUE(filter::glob_match("a?c*", "abcdef"));
    EXPECT_TRUE(filter::glob_match("*a*b*", "xxaxxbxx"));
    EXPECT_FALSE(filter::glob_match("*.exe", "evil.exe.txt"));
    EXPECT_FALSE(filter::glob_match("*.exe", "evil.ex"));
    EXPECT_FALSE(filter::glob_match("a?c", "ac"));
}

TEST(AttachmentFilter, HygieneAgentAtEndOfData) {
    filter::AttachmentFilter f(preset());
    EXPECT_EQ(f.name(), "attachment_filter");
    EXPECT_EQ(f.agent_class(), filter::AgentClass::Hygiene);
    EXPECT_TRUE(f.bound_to(filter::Stage::EndOfData));
    EXPECT_FALSE(f.bound_to(filter::Stage::RcptTo));
    EXPECT_FALSE(f.network());
}

TEST(AttachmentFilter, SniffedExecutableBehindTextNameAndType) {
    filter::AttachmentFilter f(preset());
    for (const char* name : {"exe-as-txt", "exe-as-pdf"}) {
        auto v = judge(f, eml(name));
        EXPECT_EQ(v.kind, Kind::Refuse) << name;
        EXPECT_EQ(v.rule, "attachment_filter.types") << name;
        EXPECT_NE(v.reason.find("sniffed type application/x-dosexec"), std::string::npos) << v.reason;
    }
    auto v = judge(f, eml("exe-as-txt"));
    EXPECT_EQ(v.reply.summary(), "554 5.7.1 message refused: attachment readme.txt is not allowed");
}

TEST(AttachmentFilter, DeclaredTypeOnlyWouldNotCatchIt) {
    // Exchange 2007's mistake: with the sniffed type not in the list, nothing matches.
    auto s = preset();
    s.types = {"application/x-msdownload"};
    filter::AttachmentFilter f(s);
    EXPECT_EQ(judge(f, eml("exe-as-pdf")).kind, Kind::Continue);
}

TEST(AttachmentFilter, DecodedNames) {
    filter::AttachmentFilter f(preset());
    struct Case {
        const char* eml;
        const char* name;
    };
    for (Case c : {Case{"rfc2231-name", "evil.exe"}, Case{"rfc2231-continued", "evil.exE"},
                   Case{"encoded-word-name", "evil.exe"}, Case{"trailing-dot", "evil.exe. "}}) {
        auto h = hits(f, eml(c.eml));
        ASSERT_EQ(h.size(), 1u) << c.eml;
        EXPECT_EQ(h[0].name, c.name) << c.eml;
        EXPECT_EQ(h[0].rule, "attachment_filter.names") << c.eml;
        EXPECT_EQ(h[0].why, "name matches *.exe") << c.eml;
    }
}

TEST(AttachmentFilter, ZipMembersNestedAndInMessages) {
    filter::AttachmentFilter f(preset());
    struct Case {
        const char* eml;
        const char* name;
        const char* rule;
    };
    for (Case c : {Case{"zip-exe", "docs.zip/readme.txt", "attachment_filter.types"},
                   Case{"zip-zip-exe", "outer.zip/inner.zip/payload.bin", "attachment_filter.types"},
                   Case{"zip-exe-name", "tools.zip/bin/setup.EXE", "attachment_filter.names"},
                   Case{"rfc822-exe", "tool.dat", "attachment_filter.types"}}) {
        auto h = hits(f, eml(c.eml));
        ASSERT_EQ(h.size(), 1u) << c.eml;
        EXPECT_EQ(h[0].name, c.name) << c.eml;
        EXPECT_EQ(h[0].rule, c.rule) << c.eml;
    }
    // Not looking inside archives: the zips pass (the message/rfc822 part is no archive).
    auto s = preset();
    s.inspect_archives = false;
    filter::AttachmentFilter blind(s);
    EXPECT_TRUE(hits(blind, eml("zip-exe")).empty());
    EXPECT_TRUE(hits(blind, eml("zip-zip-exe")).empty());
    EXPECT_EQ(hits(blind, eml("rfc822-exe")).size(), 1u);
}

TEST(AttachmentFilter, CleanMessagesPass) {
    filter::AttachmentFilter f(preset());
    for (const char* name : {"clean-pdf", "clean-zip"}) {
        auto v = judge(f, eml(name));
        EXPECT_EQ(v.kind, Kind::Continue) << name << ": " << v.reason;
        EXPECT_TRUE(v.edits.empty()) << name;
    }
}

TEST(AttachmentFilter, EncryptedOrTooDeepZipIsBlockedUnlessAllowed) {
    filter::AttachmentFilter f(preset());
    auto v = judge(f, eml("encrypted-zip"));
    EXPECT_EQ(v.kind, Kind::Refuse);
    EXPECT_EQ(v.rule, "attachment_filter.unreadable_archives");
    EXPECT_EQ(v.reply.summary(), "554 5.7.1 message refused: attachment secret.zip cannot be inspected");
    EXPECT_NE(v.reason.find("encrypted archive member a.txt"), std::string::npos) << v.reason;
    auto deep = hits(f, eml("zip-too-deep"));
    ASSERT_EQ(deep.size(), 1u);
    EXPECT_EQ(deep[0].rule, "attachment_filter.unreadable_archives");
    EXPECT_EQ(deep[0].why, "archive over the inspection bounds: zip nesting limit reached");
    auto s = preset();
    s.unreadable_archives = config::UnreadableArchives::Allow;
    EXPECT_EQ(judge(filter::AttachmentFilter(s), eml("encrypted-zip")).kind, Kind::Continue);
    EXPECT_EQ(judge(filter::AttachmentFilter(s), eml("zip-too-deep")).kind, Kind::Continue);
}

TEST(AttachmentFilter, StripReplacesOnlyTheBadPart) {
    filter::AttachmentFilter f(preset(config::AttachmentAction::Strip));
    for (const char* name : {"exe-as-txt", "zip-zip-exe", "rfc822-exe", "encrypted-zip"}) {
        SCOPED_TRACE(name);
        std::string message = eml(name);
        mime::Structure before = mime::parse(message);
        auto h = f.inspect(message, before);
        ASSERT_EQ(h.size(), 1u);
        auto v = f.judge(message, before);
        ASSERT_EQ(v.kind, Kind::Continue);
        ASSERT_TRUE(v.edits.replace_message);
        const std::string& out = *v.edits.replace_message;
        const mime::Part& bad = before.parts[h[0].part];
        // Every byte outside the stripped part is unchanged.
        EXPECT_EQ(out.substr(0, bad.header_begin), message.substr(0, bad.header_begin));
        std::string tail = message.substr(bad.body_end);
        ASSERT_GE(out.size(), tail.size());
        EXPECT_EQ(out.substr(out.size() - tail.size()), tail);
        // The result parses as the same structure, the part now a text notice naming the file.
        mime::Structure after = mime::parse(out);
        EXPECT_FALSE(after.malformed()) << mime::dump(after);
        ASSERT_EQ(after.parts.size(), before.parts.size());   // a leaf was replaced by a leaf
        const mime::Part& notice = after.parts[h[0].part];
        EXPECT_EQ(notice.content_type.mime_type(), "text/plain");
        std::string text = mime::decode_to_string(out, notice, 4096);
        EXPECT_NE(text.find("The attachment " + h[0].name + " was removed"), std::string::npos) << text;
        EXPECT_EQ(out.find("TVqQ"), std::string::npos);   // base64 of the MZ header is gone
        // Stripped once, clean after.
        EXPECT_TRUE(f.inspect(out, after).empty());
    }
}

TEST(AttachmentFilter, SilentDeleteDiscards) {
    filter::AttachmentFilter f(preset(config::AttachmentAction::SilentDelete));
    auto v = judge(f, eml("exe-as-pdf"));
    EXPECT_EQ(v.kind, Kind::Discard);
    EXPECT_EQ(v.rule, "attachment_filter.types");
    EXPECT_NE(v.reason.find("invoice.pdf"), std::string::npos);
    EXPECT_EQ(judge(f, eml("clean-pdf")).kind, Kind::Continue);
}

TEST(AttachmentFilter, StripOfAWholeMessageRefuses) {
    std::string message = "From: a@example.test\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"
                          "Content-Disposition: attachment; filename=\"run.exe\"\r\n\r\nbody\r\n";
    filter::AttachmentFilter f(preset(config::AttachmentAction::Strip));
    auto v = judge(f, message);
    EXPECT_EQ(v.kind, Kind::Refuse);
    EXPECT_EQ(v.reply.summary(), "554 5.7.1 message refused: attachment run.exe is not allowed");
}

TEST(AttachmentFilter, ReplyNamesAreClientSafe) {
    std::string message = "From: a@example.test\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
                          "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
                          "--b\r\nContent-Type: application/octet-stream\r\n"
                          "Content-Disposition: attachment; filename*=UTF-8''%E2%80%AEtxt.%0D%0A250 ok" +
                          std::string(100, 'x') + ".exe\r\n\r\nbody\r\n--b--\r\n";
    filter::AttachmentFilter f(preset());
    auto v = judge(f, message);
    ASSERT_EQ(v.kind, Kind::Refuse) << v.reason;
    EXPECT_EQ(v.reply.text.find_first_of("\r\n"), std::string::npos);
    for (char c : v.reply.text) EXPECT_TRUE(c >= 0x20 && c < 0x7F);
    EXPECT_LT(v.reply.text.size(), 120u);
    EXPECT_EQ(v.reason.find('\n'), std::string::npos);
}

// A 4,000-byte file name reaches the refusal: the reply stays one line within RFC 5321's
// 512 octets (client_safe cuts it; smtp::Reply would cut it too), never an assertion.
// (Longer names are cut by the MIME parser at Limits::max_param_bytes.)
TEST(AttachmentFilter, HugeFileNameGivesABoundedReply) {
    std::string message = "From: a@example.test\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
                          "--b\r\nContent-Type: application/octet-stream\r\n"
                          "Content-Disposition: attachment; filename=\"" + std::string(4000, 'n') + ".exe\"\r\n\r\nbody\r\n--b--\r\n";
    filter::AttachmentFilter f(preset());
    auto v = judge(f, message);
    ASSERT_EQ(v.kind, Kind::Refuse) << v.reason.substr(0, 200);
    std::string wire = v.reply.wire();
    EXPECT_LE(wire.size(), 512u);
    EXPECT_EQ(wire.find("\r\n"), wire.size() - 2);
}

// A name longer than the parser keeps (Limits::max_param_bytes) is cut, and the cut took the
// extension with it: it must not pass a name-only block list as "evil.exe" without its end
// would. It is refused as a name that cannot be checked.
TEST(AttachmentFilter, NameCutByTheParserIsRefusedNotPassed) {
    std::string message = "From: a@example.test\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
                          "--b\r\nContent-Type: application/octet-stream\r\n"
                          "Content-Disposition: attachment; filename=\"" + std::string(5000, 'n') + ".exe\"\r\n\r\nbody\r\n--b--\r\n";
    config::AttachmentFilterSettings s = preset();
    s.types.clear();   // names only: the body is no executable anyway
    filter::AttachmentFilter f(s);
    auto h = hits(f, message);
    ASSERT_EQ(h.size(), 1u);
    EXPECT_EQ(h[0].rule, "attachment_filter.names");
    EXPECT_EQ(h[0].why, "file name too long to check");
    EXPECT_EQ(judge(f, message).kind, Kind::Refuse);
}

TEST(AttachmentFilter, UninspectablePartsAreBlocked) {
    // A base64-encoded multipart hides its parts from every filter.
    std::string message = "From: a@example.test\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
                          "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
                          "--b\r\nContent-Type: multipart/mixed; boundary=c\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                          "LS1jDQpDb250ZW50LVR5cGU6IHRleHQvcGxhaW4NCg0KaGkNCi0tYy0tDQo=\r\n--b--\r\n";
    filter::AttachmentFilter f(preset());
    auto h = hits(f, message);
    ASSERT_EQ(h.size(), 1u);
    EXPECT_EQ(h[0].rule, "attachment_filter.unreadable_archives");
    auto s = preset();
    s.unreadable_archives = config::UnreadableArchives::Allow;
    EXPECT_TRUE(hits(filter::AttachmentFilter(s), message).empty());
}

TEST(AttachmentFilter, PresetListsAreDocumented) {
    std::string doc = read_file(fs::path(RAMPART_UNIT_DIR) / ".." / ".." / "docs" / "configuration.md");
    ASSERT_FALSE(doc.empty());
    for (const std::string& n : config::AttachmentFilterSettings::preset_attachment_names())
        EXPECT_NE(doc.find("`" + n + "`"), std::string::npos) << n;
    for (const std::string& t : config::AttachmentFilterSettings::preset_attachment_types())
        EXPECT_NE(doc.find("`" + t + "`"), std::string::npos) << t;
}

TEST(AttachmentFilter, SettingsAndRegistry) {
    auto load = [](std::string_view text) { return config::load_text(text, "test.toml", "/tmp"); };
    auto r = load("[attachment_filter]\naction = \"silent-delete\"\nnames = [\"*.EXE\"]\ntypes = [\"Application/X-DOSEXEC\"]\n"
                  "inspect_archives = false\nunreadable_archives = \"allow\"\n");
    ASSERT_TRUE(std::holds_alternative<config::Config>(r));
    const auto& c = std::get<config::Config>(r);
    EXPECT_TRUE(c.attachment_filter.configured);
    EXPECT_EQ(c.attachment_filter.action, config::AttachmentAction::SilentDelete);
    EXPECT_EQ(c.attachment_filter.names, std::vector<std::string>{"*.EXE"});
    EXPECT_EQ(c.attachment_filter.types, std::vector<std::string>{"application/x-dosexec"});
    EXPECT_FALSE(c.attachment_filter.inspect_archives);
    EXPECT_EQ(c.attachment_filter.unreadable_archives, config::UnreadableArchives::Allow);
    auto chain = filter::build_chain(c);
    ASSERT_EQ(chain.agents().size(), 1u);
    EXPECT_EQ(chain.agents()[0]->name(), "attachment_filter");

    // Left out: the presets, strip, archives opened, unreadable blocked.
    auto d = std::get<config::Config>(load("[attachment_filter]\n"));
    EXPECT_EQ(d.attachment_filter.action, config::AttachmentAction::Strip);
    EXPECT_EQ(d.attachment_filter.names, config::AttachmentFilterSettings::preset_attachment_names());
    EXPECT_EQ(d.attachment_filter.types, config::AttachmentFilterSettings::preset_attachment_types());
    EXPECT_TRUE(d.attachment_filter.inspect_archives);
    EXPECT_EQ(d.attachment_filter.unreadable_archives, config::UnreadableArchives::Block);
    EXPECT_TRUE(filter::build_chain(std::get<config::Config>(load(""))).agents().empty());

    auto bad = load("[attachment_filter]\naction = \"bounce\"\n");
    ASSERT_TRUE(std::holds_alternative<std::vector<config::ConfigError>>(bad));
    EXPECT_EQ(std::get<std::vector<config::ConfigError>>(bad).at(0).text(),
              "test.toml:2: attachment_filter.action: unknown value \"bounce\" (strip | reject | silent-delete)");
}
