#include "filter/clamd_reply.hpp"

#include <gtest/gtest.h>

using namespace rampart::filter;
using Kind = ClamdReply::Kind;
using namespace std::string_view_literals;

TEST(ClamdReply, CleanAndInfected) {
    EXPECT_EQ(parse_clamd_reply("stream: OK\0"sv).kind, Kind::Clean);
    auto r = parse_clamd_reply("stream: Test.EICAR.HDB.UNOFFICIAL FOUND\0"sv);
    EXPECT_EQ(r.kind, Kind::Infected);
    EXPECT_EQ(r.signature, "Test.EICAR.HDB.UNOFFICIAL");
}

TEST(ClamdReply, ErrorsAreErrors) {
    auto r = parse_clamd_reply("INSTREAM size limit exceeded. ERROR\0"sv);
    EXPECT_EQ(r.kind, Kind::Error);
    EXPECT_EQ(r.error, "clamd: INSTREAM size limit exceeded.");
    EXPECT_EQ(parse_clamd_reply("stream: Can't allocate memory ERROR\0"sv).kind, Kind::Error);
}

TEST(ClamdReply, GarbageIsAnError) {
    for (std::string_view g : {""sv, "stream: OK"sv, "stream: OK\0x"sv, "stream: FOUND\0"sv, "stream:  FOUND\0"sv,
                               "stream: a b FOUND\0"sv, "hello\0"sv, "stream: ok\0"sv, "stream: OK\r\n\0"sv,
                               "stream: Eicar\x01 FOUND\0"sv, "PONG\0"sv}) {
        auto r = parse_clamd_reply(g);
        EXPECT_EQ(r.kind, Kind::Error) << g;
        EXPECT_FALSE(r.error.empty());
    }
    EXPECT_EQ(parse_clamd_reply(std::string(kClamdMaxReply + 1, 'a')).kind, Kind::Error);
    std::string long_name = "stream: " + std::string(201, 'A') + " FOUND" + std::string(1, '\0');
    EXPECT_EQ(parse_clamd_reply(long_name).kind, Kind::Error);
}
