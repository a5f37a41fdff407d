#include "filter/milter_protocol.hpp"

#include <gtest/gtest.h>

using namespace rampart::filter::milter;
using namespace std::string_literals;
using namespace std::string_view_literals;
using K = Reply::Kind;

namespace {

std::string be32(std::uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

Reply parsed(std::string_view pkt) {
    auto r = parse_reply(pkt);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : Reply{};
}

}  // namespace

TEST(MilterProtocol, PacketsAreFramed) {
    EXPECT_EQ(packet(Command::Quit), "\0\0\0\1Q"s);
    EXPECT_EQ(optneg_packet(6, 0x1ff, 0x1ff7ff), "\0\0\0\x0dO"s + be32(6) + be32(0x1ff) + be32(0x1ff7ff));
    EXPECT_EQ(connect_packet("[192.0.2.1]", '4', 25, "192.0.2.1"), "\0\0\0\x1a"s "C[192.0.2.1]\0" "4\0\x19" "192.0.2.1\0"s);
    EXPECT_EQ(macro_packet(Command::Mail, {{"i", "Q1"}, {"{auth_authen}", "alice"}}), "\0\0\0\x1b" "DMi\0Q1\0{auth_authen}\0alice\0"s);
    EXPECT_EQ(mail_packet({"<a@b.test>"}), "\0\0\0\x0cM<a@b.test>\0"s);
    EXPECT_EQ(header_packet("Subject", "hi"), "\0\0\0\x0cLSubject\0hi\0"s);
    // A NUL inside a string would end it early on the milter's side: cut there.
    EXPECT_EQ(helo_packet("a\0b"sv), "\0\0\0\3Ha\0"s);
    EXPECT_EQ(body_packet(std::string(kBodyChunk + 10, 'x')).size(), 5 + kBodyChunk);
}

TEST(MilterProtocol, LengthIsBounded) {
    EXPECT_EQ(*packet_length(be32(1)), 1u);
    EXPECT_EQ(*packet_length(be32(kMaxPacket)), kMaxPacket);
    EXPECT_FALSE(packet_length(be32(0)).ok());
    EXPECT_FALSE(packet_length(be32(kMaxPacket + 1)).ok());
    EXPECT_FALSE(packet_length("\xff\xff\xff\xff"sv).ok());
    EXPECT_FALSE(packet_length("abc"sv).ok());
}

TEST(MilterProtocol, OptionNegotiation) {
    Reply r = parsed("O"s + be32(6) + be32(0x31) + be32(0x1000c0) + "extra");
    EXPECT_EQ(r.kind, K::OptNeg);
    EXPECT_EQ(r.version, 6u);
    EXPECT_EQ(r.actions, 0x31u);
    EXPECT_EQ(r.protocol, 0x1000c0u);
    EXPECT_FALSE(parse_reply("O\0\0\0\6"sv).ok());
}

TEST(MilterProtocol, FinalReplies) {
    EXPECT_EQ(parsed("a").kind, K::Accept);
    EXPECT_EQ(parsed("c").kind, K::Continue);
    EXPECT_EQ(parsed("d").kind, K::Discard);
    EXPECT_EQ(parsed("r").kind, K::Reject);
    EXPECT_EQ(parsed("t").kind, K::Tempfail);
    EXPECT_EQ(parsed("s").kind, K::Skip);
    EXPECT_EQ(parsed("p").kind, K::Progress);
    EXPECT_TRUE(parsed("a").is_final());
    EXPECT_FALSE(parsed("p").is_final());
    EXPECT_FALSE(parse_reply("cx").ok());   // data after a bare reply
    EXPECT_FALSE(parse_reply("Z").ok());
    EXPECT_FALSE(parse_reply("").ok());
}

TEST(MilterProtocol, ReplyCodeIsSanitised) {
    Reply r = parsed("y554 5.7.1 Virus found: Eicar\x01 \r\n\0"sv);
    EXPECT_EQ(r.kind, K::ReplyCode);
    EXPECT_EQ(r.reply.code, 554);
    EXPECT_EQ(r.reply.enhanced, "5.7.1");
    EXPECT_EQ(r.reply.text, "Virus found: Eicar?");
    // Multi-line: the texts joined; no enhanced code: the class's default.
    r = parsed("y451-first\r\n451 second\0"sv);
    EXPECT_EQ(r.reply.code, 451);
    EXPECT_EQ(r.reply.enhanced, "4.7.1");
    EXPECT_EQ(r.reply.text, "first second");
    // An enhanced code of the wrong class is text, not the code.
    r = parsed("y550 4.7.1 x\0"sv);
    EXPECT_EQ(r.reply.enhanced, "5.7.1");
    EXPECT_EQ(r.reply.text, "4.7.1 x");
    EXPECT_EQ(parsed("y550 "s + std::string(500, 'a') + "\0"s).reply.text.size(), kMaxReplyText);
    for (std::string_view bad : {"y250 ok\0"sv, "y599 x\0"sv, "y5x0 x\0"sv, "y550x\0"sv, "y550 x"sv, "y550 a\r\n451 b\0"sv, "y\0"sv})
        EXPECT_FALSE(parse_reply(bad).ok()) << bad;
}

TEST(MilterProtocol, Modifications) {
    Reply h = parsed("hX-Test\0 value\n\tfolded\0"sv);
    EXPECT_EQ(h.kind, K::AddHeader);
    EXPECT_EQ(h.name, "X-Test");
    EXPECT_EQ(h.value, " value\n\tfolded");
    Reply i = parsed("i"s + be32(2) + "DKIM-Signature\0v=1\0"s);
    EXPECT_EQ(i.kind, K::InsertHeader);
    EXPECT_EQ(i.index, 2u);
    Reply m = parsed("m"s + be32(1) + "Subject\0\0"s);
    EXPECT_EQ(m.kind, K::ChangeHeader);
    EXPECT_EQ(m.value, "");
    EXPECT_EQ(parsed("+<bcc@example.test>\0"sv).text, "bcc@example.test");
    EXPECT_EQ(parsed("2<bcc@example.test>\0NOTIFY=NEVER\0"sv).kind, K::AddRcpt);
    EXPECT_EQ(parsed("-old@example.test\0"sv).kind, K::DelRcpt);
    EXPECT_EQ(parsed("bnew body\r\n"sv).text, "new body\r\n");
    EXPECT_EQ(parsed("qspam\ttrap\0"sv).text, "spam trap");
    EXPECT_EQ(parsed("e<srs@example.test>\0SIZE=10\0"sv).text, "srs@example.test");
    Reply null_sender = parsed("e<>\0"sv);   // chgfrom to the null sender: allowed, empty text
    EXPECT_EQ(null_sender.kind, K::ChangeFrom);
    EXPECT_EQ(null_sender.text, "");
    EXPECT_FALSE(parse_reply("+<>\0"sv).ok());   // no null recipient
    for (std::string_view bad : {"hX Test\0v\0"sv, "hX:T\0v\0"sv, "h\0v\0"sv, "hX\0v"sv, "hX\0a\nb\0"sv, "hX\0a\rb\0"sv,
                                 "hX\0a\x01\0"sv, "hX\0v\0junk"sv, "i\0\0"sv, "+\0"sv, "+a b\0"sv, "+a"sv, "qx"sv, "y"sv})
        EXPECT_FALSE(parse_reply(bad).ok()) << bad;
}

TEST(MilterProtocol, HeaderFieldsAsSent) {
    std::size_t body = 0;
    auto f = header_fields("Subject: hi\r\nX-Long: a\r\n\tb\r\nbroken\r\n\r\nbody\r\n", body);
    ASSERT_EQ(f.size(), 3u);
    EXPECT_EQ(f[0].name, "Subject");
    EXPECT_EQ(f[0].value, " hi");
    EXPECT_EQ(f[1].value, " a\n\tb");
    EXPECT_EQ(f[2].name, "broken");
    EXPECT_EQ(body, 38u);
    EXPECT_EQ(crlf_body("a\nb\r\n"), "a\r\nb\r\n");
}

TEST(MilterProtocol, EditsFollowLibmilterIndexes) {
    std::string msg = "Received: one\r\nSubject: old\r\nX-A: 1\r\nX-A: 2\r\n\tfolded\r\n\r\nbody\r\n";
    auto hdr = [](K k, std::uint32_t index, std::string name, std::string value) {
        Reply r;
        r.kind = k;
        r.index = index;
        r.name = std::move(name);
        r.value = std::move(value);
        return r;
    };
    // insheader 0 = first; chgheader 2 = the second X-A (its fold goes with it); empty = delete.
    std::string out = edit_message(msg, {hdr(K::InsertHeader, 0, "DKIM-Signature", "v=1;\n\tb=x"),
                                         hdr(K::ChangeHeader, 2, "x-a", "two"), hdr(K::ChangeHeader, 1, "Subject", ""),
                                         hdr(K::AddHeader, 0, "X-Added", " lead"), hdr(K::InsertHeader, 99, "X-End", "e"),
                                         hdr(K::ChangeHeader, 3, "X-A", "appended"), hdr(K::ChangeHeader, 5, "X-None", "")});
    EXPECT_EQ(out, "DKIM-Signature: v=1;\r\n\tb=x\r\nReceived: one\r\nX-A: 1\r\nx-a: two\r\nX-Added: lead\r\nX-End: e\r\n"
                   "X-A: appended\r\n\r\nbody\r\n");
    Reply b1, b2;
    b1.kind = b2.kind = K::ReplaceBody;
    b1.text = "new\n";
    b2.text = "body";
    EXPECT_EQ(edit_message(msg, {b1, b2}), "Received: one\r\nSubject: old\r\nX-A: 1\r\nX-A: 2\r\n\tfolded\r\n\r\nnew\r\nbody\r\n");
    // No modification: the message as it was (line ends of the header block made CRLF).
    EXPECT_EQ(edit_message(msg, {}), msg);
}
