// tests/unit/cli/sendmail_test.cpp — sendmail(8) options and the message made from input.
#include "cli/sendmail.hpp"

#include <gtest/gtest.h>

namespace rampart::cli::sendmail {
namespace {

Options parse_ok(const std::vector<std::string>& args) {
    ParseResult r = parse_options(args);
    EXPECT_TRUE(r.options) << r.error;
    return r.options.value_or(Options{});
}

std::string parse_error(const std::vector<std::string>& args) {
    ParseResult r = parse_options(args);
    EXPECT_FALSE(r.options);
    return r.error;
}

Identity alice() {
    Identity who;
    who.login = "alice";
    who.gecos_name = "Alice Liddell";
    who.hostname = "mx.test";
    who.sender = "alice@mx.test";
    who.date = "Tue, 1 Dec 2026 22:00:00 +0000";
    who.message_id = "<1.2.3@mx.test>";
    return who;
}

TEST(SendmailOptions, CommonApplicationLines) {
    Options o = parse_ok({"-t", "-i"});
    EXPECT_TRUE(o.extract_recipients);
    EXPECT_TRUE(o.ignore_dots);
    EXPECT_TRUE(o.recipients.empty());

    o = parse_ok({"-oi", "-f", "bounces@example.test", "-F", "Web App", "bob@example.test"});
    EXPECT_TRUE(o.ignore_dots);
    EXPECT_EQ(o.sender.value_or("?"), "bounces@example.test");
    EXPECT_EQ(o.full_name.value_or("?"), "Web App");
    EXPECT_EQ(o.recipients, std::vector<std::string>{"bob@example.test"});

    o = parse_ok({"-fbounces@example.test", "-FWeb", "-ti", "-bm", "--", "-odd@example.test"});
    EXPECT_EQ(o.sender.value_or("?"), "bounces@example.test");
    EXPECT_EQ(o.full_name.value_or("?"), "Web");
    EXPECT_TRUE(o.extract_recipients);
    EXPECT_TRUE(o.ignore_dots);
    EXPECT_EQ(o.recipients, std::vector<std::string>{"-odd@example.test"});
}

TEST(SendmailOptions, NullSenderAndAngles) {
    EXPECT_EQ(parse_ok({"-f", "<>", "a@b.test"}).sender.value_or("?"), "");
    EXPECT_EQ(parse_ok({"-f<x@y.test>", "a@b.test"}).sender.value_or("?"), "x@y.test");
    EXPECT_EQ(parse_ok({"-r", "x@y.test", "a@b.test"}).sender.value_or("?"), "x@y.test");
}

TEST(SendmailOptions, HarmlessOnesAreIgnored) {
    Options o = parse_ok({"-odi", "-odb", "-oem", "-v", "-oQ/tmp", "-N", "never", "-R", "hdrs", "-V", "envid", "-B", "8BITMIME",
                          "-C", "/etc/x.toml", "a@b.test"});
    EXPECT_FALSE(o.ignore_dots);
    EXPECT_EQ(o.config, "/etc/x.toml");
    EXPECT_EQ(o.recipients, std::vector<std::string>{"a@b.test"});
    EXPECT_EQ(o.ignored.size(), 9u);
}

TEST(SendmailOptions, RecipientsSplitAtCommas) {
    Options o = parse_ok({"a@b.test, Bob <bob@b.test>", "c@d.test"});
    EXPECT_EQ(o.recipients, (std::vector<std::string>{"a@b.test", "bob@b.test", "c@d.test"}));
}

TEST(SendmailOptions, OtherModesAreUsageErrors) {
    for (const char* mode : {"-bs", "-bp", "-bi", "-bd", "-bv", "-bt", "-q", "-q1h", "-I"}) {
        std::string e = parse_error({mode});
        EXPECT_NE(e.find("not supported"), std::string::npos) << mode << ": " << e;
    }
    EXPECT_NE(parse_error({"-Z"}).find("unknown option -Z"), std::string::npos);
    EXPECT_NE(parse_error({"-f"}).find("-f needs a value"), std::string::npos);
    EXPECT_NE(parse_error({"-o"}).find("-o needs"), std::string::npos);
}

TEST(SendmailAddressList, Forms) {
    EXPECT_EQ(parse_address_list("a@x.test"), std::vector<std::string>{"a@x.test"});
    EXPECT_EQ(parse_address_list(" \"Doe, John\" <john@x.test>, b@y.test (Bee, B) "),
              (std::vector<std::string>{"john@x.test", "b@y.test"}));
    EXPECT_EQ(parse_address_list("Team: c@z.test, d@z.test;, e@z.test"),
              (std::vector<std::string>{"c@z.test", "d@z.test", "e@z.test"}));
    EXPECT_TRUE(parse_address_list("undisclosed-recipients:;").empty());
    EXPECT_TRUE(parse_address_list("John Doe").empty());
    EXPECT_EQ(parse_address_list("<@relay.test:f@g.test>"), std::vector<std::string>{"f@g.test"});
}

TEST(SendmailMessage, ExtractsRecipientsAndRemovesBcc) {
    Options o = parse_ok({"-t", "cmd@line.test"});
    Prepared p = prepare_message("To: Ann <ann@x.test>, bob@x.test\n"
                                 "Cc: carol@x.test\n"
                                 "Bcc: secret@x.test,\n"
                                 " hidden@x.test\n"
                                 "Subject: hi\n"
                                 "\n"
                                 "body\n",
                                 o, alice());
    EXPECT_EQ(p.recipients, (std::vector<std::string>{"cmd@line.test", "ann@x.test", "bob@x.test", "carol@x.test", "secret@x.test",
                                                      "hidden@x.test"}));
    EXPECT_EQ(p.data.find("Bcc"), std::string::npos) << p.data;
    EXPECT_EQ(p.data.find("secret"), std::string::npos) << p.data;
    EXPECT_EQ(p.data.find("hidden"), std::string::npos) << p.data;
    EXPECT_NE(p.data.find("To: Ann <ann@x.test>, bob@x.test\r\nCc: carol@x.test\r\nSubject: hi\r\n\r\nbody\r\n"), std::string::npos)
        << p.data;
}

TEST(SendmailMessage, WithoutTHeadersAreNotRecipients) {
    Prepared p = prepare_message("To: ann@x.test\n\nbody\n", parse_ok({"bob@x.test"}), alice());
    EXPECT_EQ(p.recipients, std::vector<std::string>{"bob@x.test"});
}

TEST(SendmailMessage, LoneDotEndsInputUnlessI) {
    std::string in = "Subject: s\n\nline1\n.\nline2\n";
    Prepared cut = prepare_message(in, parse_ok({"a@x.test"}), alice());
    EXPECT_NE(cut.data.find("line1\r\n"), std::string::npos);
    EXPECT_EQ(cut.data.find("line2"), std::string::npos);
    Prepared whole = prepare_message(in, parse_ok({"-i", "a@x.test"}), alice());
    EXPECT_NE(whole.data.find("line1\r\n.\r\nline2\r\n"), std::string::npos) << whole.data;
    Prepared oi = prepare_message(in, parse_ok({"-oi", "a@x.test"}), alice());
    EXPECT_EQ(oi.data, whole.data);
}

TEST(SendmailMessage, AddsFromDateMessageIdWhenMissing) {
    Prepared p = prepare_message("Subject: s\n\nb\n", parse_ok({"a@x.test"}), alice());
    EXPECT_EQ(p.data.rfind("From: \"Alice Liddell\" <alice@mx.test>\r\nDate: Tue, 1 Dec 2026 22:00:00 +0000\r\n"
                           "Message-ID: <1.2.3@mx.test>\r\nSubject: s\r\n\r\nb\r\n",
                           0),
              0u)
        << p.data;
    Prepared f = prepare_message("Subject: s\n\nb\n", parse_ok({"-F", "Web \"App\"", "a@x.test"}), alice());
    EXPECT_EQ(f.data.rfind("From: \"Web \\\"App\\\"\" <alice@mx.test>\r\n", 0), 0u) << f.data;
    Prepared kept = prepare_message("from: Me <me@x.test>\nDATE: x\nMessage-Id: <m@x>\n\nb\n", parse_ok({"-F", "N", "a@x.test"}), alice());
    EXPECT_EQ(kept.data, "from: Me <me@x.test>\r\nDATE: x\r\nMessage-Id: <m@x>\r\n\r\nb\r\n");
}

TEST(SendmailMessage, BodyWithoutHeaderGetsTheEmptyLine) {
    Identity who = alice();
    who.gecos_name.clear();
    Prepared p = prepare_message("just text\r\nmore\n", parse_ok({"a@x.test"}), who);
    EXPECT_EQ(p.data, "From: alice@mx.test\r\nDate: Tue, 1 Dec 2026 22:00:00 +0000\r\nMessage-ID: <1.2.3@mx.test>\r\n\r\njust text\r\nmore\r\n");
}

TEST(SendmailMessage, NulIsNotAMessage) {
    Prepared p = prepare_message(std::string_view("a\0b\n", 4), parse_ok({"a@x.test"}), alice());
    EXPECT_FALSE(p.error.empty());
}

TEST(SendmailSender, OwnAddressUnlessF) {
    EXPECT_EQ(envelope_sender(parse_ok({"a@x.test"}), "alice", "mx.test"), "alice@mx.test");
    EXPECT_EQ(envelope_sender(parse_ok({"-f", "x@y.test", "a@x.test"}), "alice", "mx.test"), "x@y.test");
}

}  // namespace
}  // namespace rampart::cli::sendmail
