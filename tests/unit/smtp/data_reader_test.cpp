#include "smtp/data_reader.hpp"

#include <gtest/gtest.h>

using namespace rampart::smtp;

namespace {
struct Fed {
    DataReader::Status status;
    std::string message;
    std::size_t used;
};

// Feeds `input` in pieces of `step` bytes.
Fed feed_all(std::string_view input, std::size_t step = 1 << 20, std::uint64_t max = 1 << 20, std::uint32_t line = 998,
             DataReader* out_reader = nullptr) {
    DataReader r(max, line);
    Fed f{DataReader::Status::NeedMore, {}, 0};
    std::size_t pos = 0;
    while (pos < input.size()) {
        std::string_view piece = input.substr(pos, step);
        std::size_t used = 0;
        f.status = r.feed(piece, used, f.message);
        pos += used;
        if (f.status != DataReader::Status::NeedMore) break;
    }
    f.used = pos;
    if (out_reader) *out_reader = r;
    return f;
}
}  // namespace

TEST(DataReader, EndsOnlyAtCrLfDotCrLf) {
    Fed f = feed_all("Subject: x\r\n\r\nhello\r\n.\r\nMAIL FROM:<next>\r\n");
    EXPECT_EQ(f.status, DataReader::Status::Done);
    EXPECT_EQ(f.message, "Subject: x\r\n\r\nhello\r\n");
    EXPECT_EQ(f.used, std::string("Subject: x\r\n\r\nhello\r\n.\r\n").size());
}

TEST(DataReader, EmptyMessage) {
    Fed f = feed_all(".\r\n");
    EXPECT_EQ(f.status, DataReader::Status::Done);
    EXPECT_EQ(f.message, "");
}

TEST(DataReader, RemovesDotStuffing) {
    Fed f = feed_all("..\r\n...x\r\n.y\r\n.\r\n");
    EXPECT_EQ(f.status, DataReader::Status::Done);
    EXPECT_EQ(f.message, ".\r\n..x\r\ny\r\n");
}

TEST(DataReader, ByteAtATimeGivesSameResult) {
    std::string input = "a\r\n..b\r\n\r\nc\r\n.\r\n";
    EXPECT_EQ(feed_all(input, 1).message, feed_all(input).message);
}

class Smuggling : public ::testing::TestWithParam<const char*> {};

TEST_P(Smuggling, BareLineEndNeverEndsData) {
    std::string input = std::string("Subject: x\r\n\r\nbody") + GetParam() +
                        "MAIL FROM:<evil@outside.test>\r\nRCPT TO:<v@example.test>\r\nDATA\r\nsmuggled\r\n.\r\n";
    for (std::size_t step : {std::size_t{1}, std::size_t{3}, std::size_t{1} << 20}) {
        Fed f = feed_all(input, step);
        EXPECT_EQ(f.status, DataReader::Status::BareLineEnd) << step;
        EXPECT_EQ(f.message.find("MAIL FROM"), std::string::npos);
    }
}

INSTANTIATE_TEST_SUITE_P(Payloads, Smuggling,
                         ::testing::Values("\n.\n", "\n.\r\n", "\r.\r\n", "\r\n.\r", "\r\n.\n", "\r\n.\rx", "\n"));

TEST(DataReader, SizeLimitCountsButDoesNotStore) {
    DataReader r(0, 0);
    Fed f = feed_all("0123456789\r\n.\r\n", 4, 5, 0, &r);
    EXPECT_EQ(f.status, DataReader::Status::Done);
    EXPECT_EQ(f.message.size(), 5u);
    EXPECT_TRUE(r.too_big());
    EXPECT_EQ(r.size(), 12u);
}

TEST(DataReader, LongLinesAndNul) {
    DataReader r(0, 0);
    feed_all(std::string(11, 'x') + "\r\n.\r\n", 3, 1 << 20, 10, &r);
    EXPECT_TRUE(r.line_too_long());
    feed_all(std::string(10, 'x') + "\r\n.\r\n", 3, 1 << 20, 10, &r);
    EXPECT_FALSE(r.line_too_long());
    feed_all(std::string("a\0b\r\n.\r\n", 8), 100, 1 << 20, 10, &r);
    EXPECT_TRUE(r.has_nul());
}

// Found by tests/fuzz/data_reader_chunks (corpus: nul-run-past-max-line): NUL bytes
// counted toward the line length but never checked it, so a line whose length passed
// max_line in a run of NULs was not flagged (BDAT's check_lines flags it).
TEST(DataReader, NulBytesCountTowardLongLines) {
    DataReader r(0, 0);
    std::string line = "abc" + std::string(20, '\0');
    feed_all(line + "\r\n.\r\n", 7, 1 << 20, 10, &r);
    EXPECT_TRUE(r.line_too_long());
    EXPECT_TRUE(check_lines(line + "\r\n", 10).long_line);
}

TEST(DotStuff, RoundTripsThroughReader) {
    std::string msg = ".\r\n..x\r\nplain\r\n.leading\r\n";
    std::string wire = dot_stuff(msg);
    EXPECT_EQ(wire, "..\r\n...x\r\nplain\r\n..leading\r\n.\r\n");
    EXPECT_EQ(feed_all(wire).message, msg);
    EXPECT_EQ(dot_stuff("no newline"), "no newline\r\n.\r\n");
}

TEST(LineFacts, DetectsBareLineEnds) {
    EXPECT_FALSE(check_lines("a\r\nb\r\n", 0).bare_line_end);
    EXPECT_TRUE(check_lines("a\nb\r\n", 0).bare_line_end);
    EXPECT_TRUE(check_lines("a\rb\r\n", 0).bare_line_end);
    EXPECT_TRUE(check_lines("abc\r", 0).bare_line_end);
    EXPECT_TRUE(check_lines("abcdef\r\n", 5).long_line);
    EXPECT_TRUE(check_lines("abcdef", 5).long_line);
}

TEST(ReceivedHeaders, CountedInHeaderSectionOnly) {
    EXPECT_EQ(count_received_headers("Received: a\r\nreceived: b\r\n\tcont\r\nSubject: x\r\n\r\nReceived: body\r\n"), 2u);
}
