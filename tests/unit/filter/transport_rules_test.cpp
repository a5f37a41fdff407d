// filter/transport_rules: matching of each condition, each action, their order, stop,
// redirect and bcc as envelope edits, prepend_subject on an encoded-word subject.
#include "filter/transport_rules.hpp"

#include <gtest/gtest.h>

#include <variant>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include "config/load.hpp"
#include "filter/chain.hpp"
#include "mime/encoded_word.hpp"
#include "mime/header.hpp"

using namespace rampart;
using Kind = filter::AgentVerdict::Kind;

namespace {

config::Config load(const std::string& rules) {
    std::string text = "[[domains]]\nname = \"example.test\"\n[content_filter]\nengine = \"none\"\n" + rules;
    auto r = config::load_text(text, "test.toml", "/tmp");
    if (auto* e = std::get_if<std::vector<config::ConfigError>>(&r)) {
        for (auto& x : *e) ADD_FAILURE() << x.text();
        return {};
    }
    return std::get<config::Config>(r);
}

struct Msg {
    std::string sender = "someone@outside.test";
    std::vector<std::string> rcpts{"alice@example.test"};
    std::string message = "From: someone@outside.test\r\nSubject: Hello\r\n\r\nbody text\r\n";
    policy::Principal principal;
};

filter::AgentVerdict judge(const std::string& rules, const Msg& m) {
    config::Config c = load(rules);
    filter::TransportRules agent(c.transport_rules, c.domains);
    filter::SessionInfo session;
    session.listener = "internet";
    session.principal = m.principal;
    smtp::Path sender;
    if (m.sender.empty()) sender.null = true;
    else sender.mailbox = *smtp::parse_mailbox(m.sender);
    filter::MessageView view;
    view.sender = &sender;
    view.recipients = m.rcpts;
    view.message = m.message;
    return agent.judge(session, view);
}

std::string edited(const filter::AgentVerdict& v, const Msg& m) {
    return v.edits.replace_message ? *v.edits.replace_message : m.message;
}

std::vector<std::string> recipients(const filter::AgentVerdict& v, const Msg& m) {
    std::vector<std::string> r = m.rcpts;
    filter::apply_recipient_edits(r, v.edits);
    return r;
}

std::string decoded_subject(const std::string& message) {
    std::string_view block(message.data(), message.find("\r\n\r\n") + 2);
    for (const mime::HeaderField& f : mime::header_fields(block))
        if (mime::iequals(f.name, "Subject")) return mime::decode_encoded_words(mime::unfold(f.raw_value, 4096), 4096).utf8;
    return "(no subject)";
}

const std::string kTag = "[[transport_rules]]\nname = \"tag\"\nfrom_scope = \"outside\"\nprepend_subject = \"[EXTERNAL] \"\n";

}  // namespace

TEST(TransportRules, NoRuleMatchesNothingChanges) {
    Msg m;
    m.sender = "bob@example.test";
    m.principal = {policy::Principal::Kind::User, "bob", {}, {}, false};
    filter::AgentVerdict v = judge(kTag, m);
    EXPECT_EQ(v.kind, Kind::Continue);
    EXPECT_TRUE(v.edits.empty());
    EXPECT_EQ(v.reason, "no rule matched (1 rules)");
}

TEST(TransportRules, FromScopeOutsideIncludesForgedInsideSender) {
    Msg m;
    m.sender = "ceo@example.test";   // claims our domain, not authenticated
    filter::AgentVerdict v = judge(kTag, m);
    EXPECT_EQ(v.rule, "transport_rules.tag");
    EXPECT_NE(v.reason.find("from_scope outside: sender \"ceo@example.test\", not authenticated"), std::string::npos) << v.reason;
    EXPECT_EQ(decoded_subject(edited(v, m)), "[EXTERNAL] Hello");
}

TEST(TransportRules, PrependSubjectOnEncodedWordAndOnce) {
    Msg m;
    m.message = "Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n =?UTF-8?Q?_aus_Z=C3=BCrich?=\r\nFrom: x@outside.test\r\n\r\nb\r\n";
    filter::AgentVerdict v = judge(kTag, m);
    std::string out = edited(v, m);
    EXPECT_EQ(decoded_subject(out), "[EXTERNAL] Grüße aus Zürich");
    EXPECT_NE(out.find("Subject: [EXTERNAL] =?UTF-8?B?R3LDvMOfZQ==?=\r\n =?UTF-8?Q?_aus_Z=C3=BCrich?=\r\nFrom:"), std::string::npos) << out;
    // A reply to a tagged message is not tagged twice.
    EXPECT_EQ(filter::TransportRules::prepend_subject(out, "[EXTERNAL] "), out);
    // No space in the prefix before an encoded word: one is put in, or it would not decode.
    std::string tight = filter::TransportRules::prepend_subject(m.message, "[EXT]");
    EXPECT_EQ(decoded_subject(tight), "[EXT] Grüße aus Zürich");
    // Non-ASCII prefix: an encoded word of its own.
    std::string umlaut = filter::TransportRules::prepend_subject(m.message, "[EXTERN] ");
    EXPECT_EQ(decoded_subject(umlaut), "[EXTERN] Grüße aus Zürich");
    std::string utf = filter::TransportRules::prepend_subject("Subject: Hi\r\n\r\nb\r\n", "[Außen] ");
    EXPECT_NE(utf.find("Subject: =?UTF-8?B?"), std::string::npos) << utf;
    EXPECT_EQ(decoded_subject(utf), "[Außen] Hi");
    std::string utf_word = filter::TransportRules::prepend_subject(m.message, "[Außen] ");
    EXPECT_EQ(decoded_subject(utf_word), "[Außen] Grüße aus Zürich");
    // No Subject at all: one is added.
    std::string none = filter::TransportRules::prepend_subject("From: a@b.test\r\n\r\nb\r\n", "[EXTERNAL] ");
    EXPECT_EQ(decoded_subject(none), "[EXTERNAL]");
}

TEST(TransportRules, FromToAndToScope) {
    std::string rules = "[[transport_rules]]\nname = \"r\"\nfrom = [\"*.outside.test\", \"x@y.test\"]\nto = [\"alice@example.test\"]\n"
                        "to_scope = \"inside\"\nadd_header = [\"X-Hit: yes\"]\n";
    Msg m;
    m.sender = "a@mail.outside.test";
    filter::AgentVerdict v = judge(rules, m);
    EXPECT_NE(edited(v, m).find("X-Hit: yes\r\n"), std::string::npos);
    EXPECT_NE(v.reason.find("from: sender \"a@mail.outside.test\" matches \"*.outside.test\""), std::string::npos) << v.reason;
    EXPECT_NE(v.reason.find("to: recipient \"alice@example.test\" matches"), std::string::npos) << v.reason;
    m.sender = "a@outside.test";   // *.outside.test is subdomains only
    EXPECT_TRUE(judge(rules, m).edits.empty());
    m.sender = "X@Y.TEST";
    EXPECT_FALSE(judge(rules, m).edits.empty());
    m.rcpts = {"bob@example.test"};
    EXPECT_TRUE(judge(rules, m).edits.empty());
    m.sender = "";   // the null sender matches no from list
    m.rcpts = {"alice@example.test"};
    EXPECT_TRUE(judge(rules, m).edits.empty());
}

TEST(TransportRules, FromScopeInsideNeedsAuthentication) {
    std::string rules = "[[transport_rules]]\nname = \"in\"\nfrom_scope = \"inside\"\nadd_header = [\"X-In: 1\"]\n";
    Msg m;
    m.sender = "bob@example.test";
    EXPECT_TRUE(judge(rules, m).edits.empty());
    m.principal = {policy::Principal::Kind::User, "bob", {}, {}, false};
    EXPECT_FALSE(judge(rules, m).edits.empty());
    m.sender = "bob@elsewhere.test";
    EXPECT_TRUE(judge(rules, m).edits.empty());
}

TEST(TransportRules, HeaderSubjectBodyConditions) {
    Msg m;
    m.message = "Subject: =?UTF-8?Q?Your_INVOICE_is_due?=\r\nX-Mailer: PHPMailer 6.0\r\nMIME-Version: 1.0\r\n"
                "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
                "--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                "Please make a W=FCre transfer today\r\n"
                "--b\r\nContent-Type: text/plain; name=\"notes.txt\"\r\nContent-Disposition: attachment; filename=\"notes.txt\"\r\n\r\n"
                "secret attachment words\r\n--b--\r\n";
    auto hit = [&](const std::string& cond) {
        return !judge("[[transport_rules]]\nname = \"c\"\n" + cond + "\nadd_header = [\"X-Hit: 1\"]\n", m).edits.empty();
    };
    EXPECT_TRUE(hit("subject_contains = [\"invoice\"]"));
    EXPECT_FALSE(hit("subject_contains = [\"receipt\"]"));
    EXPECT_TRUE(hit("header_contains = { name = \"x-mailer\", words = [\"phpmailer\"] }"));
    EXPECT_TRUE(hit("header_matches = { name = \"X-Mailer\", pattern = \"PHPMailer *\" }"));
    EXPECT_FALSE(hit("header_matches = { name = \"X-Mailer\", pattern = \"Outlook*\" }"));
    EXPECT_TRUE(hit("body_contains = [\"würe transfer\"]"));    // QP decoded, latin-1 converted
    EXPECT_FALSE(hit("body_contains = [\"secret attachment\"]"));   // attachments are not the body
    EXPECT_TRUE(hit("attachment_name = [\"*.TXT\"]"));
    EXPECT_FALSE(hit("attachment_name = [\"*.docm\"]"));
    EXPECT_TRUE(hit("size_over = 100"));
    EXPECT_FALSE(hit("size_over = \"1MiB\""));
    // Every condition must hold.
    EXPECT_FALSE(hit("subject_contains = [\"invoice\"]\nsize_over = \"1MiB\""));
}

TEST(TransportRules, AttachmentTypeIsSniffed) {
    std::string mz = "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAIAAAAA=";
    Msg m;
    m.message = "Subject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
                "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
                "--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
                "Content-Disposition: attachment; filename=\"invoice.pdf\"\r\n\r\n" + mz + "\r\n--b--\r\n";
    filter::AgentVerdict v = judge("[[transport_rules]]\nname = \"exe\"\nattachment_type = [\"application/x-dosexec\"]\nquarantine = true\n", m);
    EXPECT_EQ(v.kind, Kind::Quarantine);
    EXPECT_EQ(v.rule, "transport_rules.exe");
    EXPECT_NE(v.reason.find("attachment_type: \"invoice.pdf\" sniffed type application/x-dosexec"), std::string::npos) << v.reason;
}

TEST(TransportRules, SclConditionAndAction) {
    std::string rules = "[[transport_rules]]\nname = \"raise\"\nsubject_contains = [\"lottery\"]\nset_scl = 8\n"
                        "[[transport_rules]]\nname = \"high\"\nscl_at_least = 7\nadd_header = [\"X-High: 1\"]\n";
    Msg m;
    m.message = "X-Rampart-SCL: 2\r\nSubject: You won the lottery\r\n\r\nb\r\n";
    filter::AgentVerdict v = judge(rules, m);
    std::string out = edited(v, m);
    EXPECT_NE(out.find("X-Rampart-SCL: 8\r\n"), std::string::npos) << out;
    EXPECT_EQ(out.find("X-Rampart-SCL: 2"), std::string::npos) << out;
    EXPECT_NE(out.find("X-High: 1\r\n"), std::string::npos) << out;   // the later rule saw the new SCL
    m.message = "Subject: no stamp\r\n\r\nb\r\n";
    EXPECT_TRUE(judge("[[transport_rules]]\nname = \"high\"\nscl_at_least = 0\nstop = true\n", m).reason.find("no rule matched") == 0);
}

TEST(TransportRules, HeaderActionsInOrder) {
    Msg m;
    m.message = "X-B: old\r\nX-C: one\r\nSubject: s\r\nX-C: two\r\n\r\nbody\r\n";
    filter::AgentVerdict v = judge("[[transport_rules]]\nname = \"h\"\nadd_header = [\"X-A: a\"]\nset_header = [\"X-C: new\"]\n"
                                   "remove_header = [\"x-b\", \"X-A\"]\n", m);
    std::string out = edited(v, m);
    EXPECT_EQ(out.find("X-B:"), std::string::npos) << out;
    EXPECT_EQ(out.find("X-A:"), std::string::npos) << out;   // remove_header comes after add_header
    EXPECT_NE(out.find("X-C: new\r\n"), std::string::npos) << out;
    EXPECT_EQ(out.find("X-C: one"), std::string::npos) << out;
    EXPECT_EQ(out.find("X-C: two"), std::string::npos) << out;
    EXPECT_NE(out.find("\r\n\r\nbody\r\n"), std::string::npos) << out;
    EXPECT_NE(v.reason.find("add_header, set_header, remove_header"), std::string::npos) << v.reason;
}

TEST(TransportRules, RedirectAndBccAreEnvelopeEdits) {
    Msg m;
    m.rcpts = {"alice@example.test", "bob@example.test"};
    filter::AgentVerdict v = judge("[[transport_rules]]\nname = \"audit\"\nbcc = [\"audit@example.test\", \"Alice@example.test\"]\n", m);
    EXPECT_EQ(recipients(v, m), (std::vector<std::string>{"alice@example.test", "bob@example.test", "audit@example.test"}));
    EXPECT_FALSE(v.edits.message_edited());
    v = judge("[[transport_rules]]\nname = \"away\"\nredirect = [\"archive@example.test\"]\n"
              "[[transport_rules]]\nname = \"audit\"\nbcc = [\"audit@example.test\"]\n", m);
    EXPECT_EQ(recipients(v, m), (std::vector<std::string>{"archive@example.test", "audit@example.test"}));
    EXPECT_EQ(v.rule, "transport_rules.away");
}

TEST(TransportRules, StopEndsRuleProcessing) {
    std::string rules = "[[transport_rules]]\nname = \"first\"\nadd_header = [\"X-First: 1\"]\nstop = true\n"
                        "[[transport_rules]]\nname = \"second\"\nadd_header = [\"X-Second: 1\"]\n";
    Msg m;
    filter::AgentVerdict v = judge(rules, m);
    EXPECT_NE(edited(v, m).find("X-First: 1"), std::string::npos);
    EXPECT_EQ(edited(v, m).find("X-Second: 1"), std::string::npos);
    EXPECT_EQ(v.reason.find("second"), std::string::npos) << v.reason;
    // Without stop both run, in order.
    v = judge("[[transport_rules]]\nname = \"first\"\nadd_header = [\"X-First: 1\"]\n"
              "[[transport_rules]]\nname = \"second\"\nadd_header = [\"X-Second: 1\"]\n", m);
    std::string out = edited(v, m);
    EXPECT_LT(out.find("X-Second: 1"), out.find("X-First: 1"));   // each added on top
    EXPECT_NE(v.reason.find("rule \"first\" matched (no conditions (every message)): add_header; rule \"second\""), std::string::npos) << v.reason;
}

TEST(TransportRules, RejectDropQuarantine) {
    Msg m;
    filter::AgentVerdict v = judge("[[transport_rules]]\nname = \"no\"\nreject = { code = 550, status = \"5.7.1\", text = \"not accepted here\" }\n"
                                   "[[transport_rules]]\nname = \"later\"\nadd_header = [\"X-L: 1\"]\n", m);
    EXPECT_EQ(v.kind, Kind::Refuse);
    EXPECT_EQ(v.reply.summary(), "550 5.7.1 not accepted here");
    EXPECT_EQ(v.rule, "transport_rules.no");
    EXPECT_EQ(v.reason.find("later"), std::string::npos);
    v = judge("[[transport_rules]]\nname = \"try later\"\nreject = { code = 451, status = \"4.7.0\", text = \"later\" }\n", m);
    EXPECT_EQ(v.kind, Kind::Tempfail);
    v = judge("[[transport_rules]]\nname = \"gone\"\ndrop = true\n", m);
    EXPECT_EQ(v.kind, Kind::Discard);
    EXPECT_EQ(v.rule, "transport_rules.gone");
    // A quarantine is kept while later rules run; a later reject wins.
    v = judge("[[transport_rules]]\nname = \"hold\"\nquarantine = true\n[[transport_rules]]\nname = \"tag\"\nadd_header = [\"X-T: 1\"]\n", m);
    EXPECT_EQ(v.kind, Kind::Quarantine);
    EXPECT_EQ(v.rule, "transport_rules.hold");
    EXPECT_NE(edited(v, m).find("X-T: 1"), std::string::npos);
    EXPECT_NE(v.reason.find("rule \"hold\" matched"), std::string::npos);
    v = judge("[[transport_rules]]\nname = \"hold\"\nquarantine = true\n[[transport_rules]]\nname = \"no\"\nreject = {}\n", m);
    EXPECT_EQ(v.kind, Kind::Refuse);
    EXPECT_EQ(v.reply.summary(), "550 5.7.1 message refused by policy");
}

TEST(TransportRules, PolicyClassRunsForAuthenticatedMail) {
    config::Config c = load(kTag);
    filter::TransportRules agent(c.transport_rules, c.domains);
    EXPECT_EQ(agent.agent_class(), filter::AgentClass::Policy);
    EXPECT_FALSE(agent.network());
    EXPECT_TRUE(agent.bound_to(filter::Stage::EndOfData));
    EXPECT_FALSE(agent.bound_to(filter::Stage::RcptTo));
}

// In the chain: never skipped for an authenticated user (anti-spam agents are), and the
// principal it sees is the one after AUTH, not the anonymous one of the connect.
TEST(TransportRules, ChainRunsItForAuthenticatedMailWithThePrincipalAfterAuth) {
    config::Config c = load("[[transport_rules]]\nname = \"inside\"\nfrom_scope = \"inside\"\nadd_header = [\"X-Inside: yes\"]\n");
    std::vector<std::unique_ptr<filter::Agent>> agents;
    agents.push_back(std::make_unique<filter::TransportRules>(c.transport_rules, c.domains));
    filter::Chain chain(std::move(agents));
    filter::ChainRun run(chain, filter::SessionInfo{"submission", *net::IpAddress::parse("192.0.2.7"), false, {}});
    run.set_principal({policy::Principal::Kind::User, "bob", {}, {}, false});   // AUTH after the connect
    smtp::Path sender;
    sender.mailbox = *smtp::parse_mailbox("bob@example.test");
    std::vector<std::string> rcpts{"x@outside.test"};
    std::string message = "Subject: s\r\n\r\nb\r\n";
    filter::MessageView view;
    view.sender = &sender;
    view.recipients = rcpts;
    view.message = message;
    filter::ChainResult result;
    std::vector<filter::StepNote> trace;
    asio::io_context io;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> { result = co_await run.run(filter::Stage::EndOfData, view, &trace); },
                   asio::detached);
    io.run();
    ASSERT_EQ(trace.size(), 1u);
    EXPECT_TRUE(trace[0].evaluated);
    EXPECT_EQ(trace[0].rule, "transport_rules.inside");
    ASSERT_TRUE(result.message);
    EXPECT_NE(result.message->find("X-Inside: yes\r\n"), std::string::npos);
}
