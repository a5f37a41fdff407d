#include "smtp/reply_parser.hpp"

#include <gtest/gtest.h>

using rampart::smtp::ReplyParser;
using Status = ReplyParser::Status;

namespace {
const ReplyParser::Limits kLimits{4, 200, 60};
}

TEST(ReplyParser, MultilineReplyJoinsTextsAndLeavesTheRest) {
    std::string in = "250-mx.example.net\r\n250-PIPELINING\r\n250 SIZE 1000\r\n221 bye\r\n";
    ReplyParser p(kLimits);
    std::vector<std::string> lines;
    ASSERT_EQ(p.feed(in, &lines), Status::Done);
    EXPECT_EQ(p.code(), 250);
    EXPECT_EQ(p.text(), "mx.example.net PIPELINING SIZE 1000");
    EXPECT_EQ(lines, (std::vector<std::string>{"250-mx.example.net", "250-PIPELINING", "250 SIZE 1000"}));
    EXPECT_EQ(in, "221 bye\r\n");
}

TEST(ReplyParser, PartialLinesWaitForMore) {
    ReplyParser p(kLimits);
    std::string in = "354 go";
    EXPECT_EQ(p.feed(in), Status::NeedMore);
    EXPECT_EQ(in, "354 go");
    in += " ahead\n";   // a bare LF ends a line too
    ASSERT_EQ(p.feed(in), Status::Done);
    EXPECT_EQ(p.code(), 354);
    EXPECT_EQ(p.text(), "go ahead");
    EXPECT_TRUE(in.empty());
}

TEST(ReplyParser, MalformedAndMixedCodesAreRefused) {
    ReplyParser a(kLimits);
    std::string in = "HTTP/1.1 400\r\n";
    EXPECT_EQ(a.feed(in), Status::Malformed);
    EXPECT_EQ(a.text(), "malformed reply: HTTP/1.1 400");
    ReplyParser b(kLimits);
    in = "250-a\r\n550 b\r\n";
    EXPECT_EQ(b.feed(in), Status::Malformed);
    ReplyParser c(kLimits);
    in = "25\r\n";
    EXPECT_EQ(c.feed(in), Status::Malformed);
}

TEST(ReplyParser, CapsOnLinesBytesAndLineLength) {
    ReplyParser lines(kLimits);
    std::string in = "250-a\n250-b\n250-c\n250-d\n250 e\n";
    EXPECT_EQ(lines.feed(in), Status::TooManyLines);
    ReplyParser bytes(kLimits);
    in = "250-" + std::string(50, 'x') + "\n250-" + std::string(50, 'x') + "\n250-" + std::string(50, 'x') +
         "\n250 " + std::string(50, 'x') + "\n";
    EXPECT_EQ(bytes.feed(in), Status::TooManyBytes);
    ReplyParser unterminated(kLimits);
    in = "250 " + std::string(57, 'x');   // 61 bytes, no line end yet
    EXPECT_EQ(unterminated.feed(in), Status::LineTooLong);
    ReplyParser terminated(kLimits);
    in = "250 " + std::string(57, 'x') + "\r\n";
    EXPECT_EQ(terminated.feed(in), Status::LineTooLong);
}
