// rspamd's /checkv2 answer parsed (good, garbage, truncated, huge, wrong types) and the
// SCL rule (docs/filters.md "Content filter").
#include "filter/rspamd_reply.hpp"

#include <gtest/gtest.h>

using namespace rampart;
using RKind = filter::RspamdReply::Kind;

namespace {

filter::RspamdReply reply(double score, double required, std::string action = "no action", bool gtube = false) {
    filter::RspamdReply r;
    r.kind = RKind::Ok;
    r.score = score;
    r.required_score = required;
    r.action = std::move(action);
    r.gtube = gtube;
    return r;
}

}  // namespace

TEST(RspamdReply, ParsesTheFieldsThatMatter) {
    auto r = filter::parse_rspamd_reply(
        R"({"is_skipped":false,"score":0.9,"required_score":15.0,"action":"no action",)"
        R"("thresholds":{"reject":15.0,"add header":6.0},"symbols":{"MIME_GOOD":{"name":"MIME_GOOD","score":-0.1},)"
        R"("DATE_IN_PAST":{"name":"DATE_IN_PAST","score":1.0}},"messages":{},"time_real":0.01})");
    ASSERT_EQ(r.kind, RKind::Ok) << r.error;
    EXPECT_DOUBLE_EQ(r.score, 0.9);
    EXPECT_DOUBLE_EQ(r.required_score, 15.0);
    EXPECT_EQ(r.action, "no action");
    EXPECT_EQ(r.symbols, (std::vector<std::string>{"DATE_IN_PAST", "MIME_GOOD"}));
    EXPECT_FALSE(r.gtube);
    auto g = filter::parse_rspamd_reply(R"({"score":0,"required_score":15,"action":"reject","symbols":{"GTUBE":{}}})");
    ASSERT_EQ(g.kind, RKind::Ok) << g.error;
    EXPECT_TRUE(g.gtube);
}

TEST(RspamdReply, GarbageTruncatedAndWrongTypesAreErrors) {
    for (std::string_view bad : {
             "", "pong", "<html>502 Bad Gateway</html>", "[1,2,3]", "\"score\"", "null",
             R"({"score":1.0,"required_score":15,"action":"no action")",          // truncated
             R"({"score":"1.0","required_score":15,"action":"no action"})",       // a string score
             R"({"score":1.0,"required_score":"15","action":"no action"})",
             R"({"score":1.0,"required_score":15,"action":3})",
             R"({"score":1.0,"required_score":0,"action":"no action"})",          // no scale
             R"({"score":1.0,"required_score":-4,"action":"no action"})",
             R"({"required_score":15,"action":"no action"})",                     // missing
             R"({"score":1.0,"action":"no action"})",
             R"({"score":1.0,"required_score":15})",
             R"({"score":1.0,"required_score":15,"action":"no action","symbols":[]})",
             R"({"score":1e999,"required_score":15,"action":"no action"})",
         }) {
        auto r = filter::parse_rspamd_reply(bad);
        EXPECT_EQ(r.kind, RKind::Error) << bad;
        EXPECT_FALSE(r.error.empty()) << bad;
    }
}

TEST(RspamdReply, HugeAndDeepRepliesAreRefusedWithoutCrashing) {
    std::string huge = R"({"score":1,"required_score":15,"action":"no action","x":")" + std::string(filter::kRspamdMaxReply, 'a') + "\"}";
    auto h = filter::parse_rspamd_reply(huge);
    EXPECT_EQ(h.kind, RKind::Error);
    EXPECT_NE(h.error.find("larger than"), std::string::npos) << h.error;
    // Nesting a million deep (inside the size bound): no stack overflow, just garbage.
    std::string deep = R"({"score":1,"required_score":15,"action":"no action","x":)" + std::string(500000, '[') + std::string(500000, ']') + "}";
    ASSERT_LE(deep.size(), filter::kRspamdMaxReply);
    auto d = filter::parse_rspamd_reply(deep);
    EXPECT_EQ(d.kind, RKind::Ok) << d.error;   // well-formed: its other fields are what count
    auto unbalanced = filter::parse_rspamd_reply(std::string(900000, '['));
    EXPECT_EQ(unbalanced.kind, RKind::Error);
}

TEST(RspamdReply, NamesAreMadePrintableAndBounded) {
    std::string symbols;
    for (int i = 0; i < 500; ++i) symbols += (i ? "," : "") + ("\"S" + std::to_string(1000 + i) + "\":{}");
    auto r = filter::parse_rspamd_reply(R"({"score":1,"required_score":15,"action":"no\r\naction\u0007","symbols":{)" + symbols + "}}");
    ASSERT_EQ(r.kind, RKind::Ok) << r.error;
    EXPECT_EQ(r.action, "noaction");
    EXPECT_EQ(r.symbols.size(), filter::RspamdReply::kMaxSymbols);
}

TEST(Scl, TheDocumentedTable) {
    // rspamd's stock thresholds: greylist 4, add header 6, rewrite subject 8, reject 15.
    EXPECT_EQ(filter::scl_of(reply(-3.5, 15)), 0);
    EXPECT_EQ(filter::scl_of(reply(0, 15)), 0);
    EXPECT_EQ(filter::scl_of(reply(0.9, 15)), 0);
    EXPECT_EQ(filter::scl_of(reply(1.67, 15)), 1);
    EXPECT_EQ(filter::scl_of(reply(4, 15, "greylist")), 2);
    EXPECT_EQ(filter::scl_of(reply(6, 15, "add header")), 3);
    EXPECT_EQ(filter::scl_of(reply(8, 15, "rewrite subject")), 4);
    EXPECT_EQ(filter::scl_of(reply(8.4, 15, "add header")), 5);
    EXPECT_EQ(filter::scl_of(reply(11.67, 15, "rewrite subject")), 7);
    EXPECT_EQ(filter::scl_of(reply(14.99, 15, "rewrite subject")), 8);
    // At or past required_score without rspamd saying reject (e.g. a soft reject): still 8.
    EXPECT_EQ(filter::scl_of(reply(15, 15, "soft reject")), 8);
    EXPECT_EQ(filter::scl_of(reply(400, 15, "soft reject")), 8);
    // rspamd's reject action, or GTUBE, is 9 whatever the score.
    EXPECT_EQ(filter::scl_of(reply(15, 15, "reject")), 9);
    EXPECT_EQ(filter::scl_of(reply(0, 15, "reject")), 9);
    EXPECT_EQ(filter::scl_of(reply(0, 15, "no action", true)), 9);
    // The scale follows required_score.
    EXPECT_EQ(filter::scl_of(reply(5, 10)), 4);
}
