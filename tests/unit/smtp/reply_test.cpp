// Reply: peer text is made safe (bounded lines, no controls), never asserted on (issue 13).
#include "smtp/reply.hpp"

#include <gtest/gtest.h>

#include <string>

using rampart::smtp::kMaxReplyLineOctets;
using rampart::smtp::kMaxReplyLines;
using rampart::smtp::Reply;

namespace {

// Every CRLF-terminated line of `wire`, CRLF included, fits `max` octets.
void expect_lines_fit(const std::string& wire, std::size_t max) {
    std::size_t pos = 0;
    while (pos < wire.size()) {
        std::size_t end = wire.find("\r\n", pos);
        ASSERT_NE(end, std::string::npos);
        EXPECT_LE(end + 2 - pos, max) << wire.substr(pos, 40);
        EXPECT_EQ(wire.substr(pos, end - pos).find('\r'), std::string::npos);
        pos = end + 2;
    }
}

}  // namespace

TEST(Reply, WireFormat) {
    EXPECT_EQ(Reply(550, "5.7.1", "relaying denied").wire(), "550 5.7.1 relaying denied\r\n");
    EXPECT_EQ(Reply(250, "", "a\nb").wire(), "250-a\r\n250 b\r\n");
    EXPECT_EQ(Reply(250, "2.0.0", "a\nb").wire(), "250-2.0.0 a\r\n250 2.0.0 b\r\n");
    EXPECT_EQ(Reply(250, "2.0.0", "a\nb").wire(false), "250-a\r\n250 b\r\n");
}

// Before issue 13 the constructor asserted text.size() < 4000: a long peer string in a
// reply aborted the whole server. Now the line is cut to RFC 5321's 512 octets.
TEST(Reply, LongPeerTextIsCutToRfc5321LineLength) {
    std::string peer(60000, 'a');
    Reply r(250, "", "mx.test greets " + peer + "\nPIPELINING\nSIZE 1000");
    std::string w = r.wire();
    expect_lines_fit(w, kMaxReplyLineOctets);
    EXPECT_EQ(w.size(), kMaxReplyLineOctets + std::string("250-PIPELINING\r\n250 SIZE 1000\r\n").size());
    EXPECT_NE(w.find("aaa...\r\n250-PIPELINING\r\n250 SIZE 1000\r\n"), std::string::npos);

    Reply e(554, "5.7.1", "message refused: " + peer);   // with an enhanced code on the line
    expect_lines_fit(e.wire(), kMaxReplyLineOctets);
    EXPECT_EQ(e.wire().size(), kMaxReplyLineOctets);
    expect_lines_fit(e.wire(false), kMaxReplyLineOctets);
}

TEST(Reply, ExactlyFittingLineIsKept) {
    std::string text(kMaxReplyLineOctets - 4 - 6 - 2, 'x');   // "550 " "5.7.1 " ... CRLF
    Reply r(550, "5.7.1", text);
    EXPECT_EQ(r.text, text);
    EXPECT_EQ(r.wire().size(), kMaxReplyLineOctets);
    Reply longer(550, "5.7.1", text + "y");
    EXPECT_EQ(longer.wire().size(), kMaxReplyLineOctets);
    EXPECT_EQ(longer.text.substr(longer.text.size() - 3), "...");
}

TEST(Reply, CutNeverSplitsUtf8) {
    std::string peer;
    for (int i = 0; i < 400; ++i) peer += "\xC3\xB6";   // ö, two octets each
    Reply r(250, "", peer);
    ASSERT_GE(r.text.size(), 3u);
    std::string body = r.text.substr(0, r.text.size() - 3);
    EXPECT_EQ(body.size() % 2, 0u);
    EXPECT_EQ(static_cast<unsigned char>(body.back()), 0xB6);
}

// Before: a CR asserted. A CR or another control character in peer text could split a
// reply line or reach a terminal; it becomes '?'.
TEST(Reply, ControlCharactersBecomeQuestionMarks) {
    Reply r(501, "5.5.4", std::string("bad\r\n250 injected\x1b[31m\0x", 24));
    EXPECT_EQ(r.wire(), std::string("501-5.5.4 bad?\r\n501 5.5.4 250 injected?[31m?x\r\n"));
}

TEST(Reply, TooManyLinesAreDropped) {
    std::string text;
    for (int i = 0; i < 1000; ++i) text += "line\n";
    Reply r(250, "", text);
    std::string w = r.wire();
    std::size_t lines = 0;
    for (std::size_t p = w.find("\r\n"); p != std::string::npos; p = w.find("\r\n", p + 2)) ++lines;
    EXPECT_EQ(lines, kMaxReplyLines);
    EXPECT_EQ(w.substr(w.size() - 10), "250 line\r\n");
}

TEST(Reply, SaslChallengeMayUseRfc4954LineLength) {
    std::string token(4000, 'Q');   // a base64 GSSAPI token: cutting it would break the exchange
    Reply r(334, "", token);
    EXPECT_EQ(r.text, token);
    Reply huge(334, "", std::string(20000, 'Q'));
    expect_lines_fit(huge.wire(), rampart::smtp::kMaxSaslReplyLineOctets);
}

TEST(Reply, SummaryIsOneLine) {
    EXPECT_EQ(Reply(250, "", "a\nb").summary(), "250 a b");
}
