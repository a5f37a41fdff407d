#include "mime/rewrite.hpp"

#include <gtest/gtest.h>

#include "mime/parser.hpp"
#include "mime/transfer_decoder.hpp"

using namespace rampart::mime;

namespace {

const std::string message =
    "From: a@example.test\r\n"
    "Subject: report\r\n"
    "X-Old: 1\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--outer\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "See attached.\r\n"
    "--outer\r\n"
    "Content-Type: application/octet-stream; name=\"invoice.exe\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "TVqQAAMAAAAEAAAA//8AAA==\r\n"
    "--outer\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "<p>last</p>\r\n"
    "--outer--\r\n"
    "epilogue\r\n";

std::string_view bytes_of(std::string_view m, const Part& p) { return m.substr(p.header_begin, p.body_end - p.header_begin); }

}  // namespace

TEST(Rewrite, StripAttachmentKeepsEverythingElseByteIdentical) {
    Structure s = parse(message);
    ASSERT_EQ(s.parts.size(), 4u);
    ASSERT_EQ(s.parts[2].sniffed.mime, "application/x-dosexec");
    std::vector<Edit> edits{Edit::replace(2, text_part("The attachment invoice.exe was removed.\n"))};
    auto out = rewrite(message, s, edits);
    ASSERT_TRUE(out.ok()) << out.error().message;
    Structure r = parse(*out);
    EXPECT_FALSE(r.malformed()) << flag_names(r.flags);
    ASSERT_EQ(r.parts.size(), 4u);
    EXPECT_EQ(r.parts[2].content_type.mime_type(), "text/plain");
    EXPECT_EQ(decode_to_string(*out, r.parts[2], 1000), "The attachment invoice.exe was removed.\r\n");
    EXPECT_EQ(bytes_of(*out, r.parts[1]), bytes_of(message, s.parts[1]));
    EXPECT_EQ(bytes_of(*out, r.parts[3]), bytes_of(message, s.parts[3]));
    // Headers, preamble, boundaries and epilogue: the input with only part 2 swapped.
    std::string expected = message.substr(0, s.parts[2].header_begin) + text_part("The attachment invoice.exe was removed.\n") +
                           message.substr(s.parts[2].body_end);
    EXPECT_EQ(*out, expected);
}

TEST(Rewrite, RemovePartAndHeaders) {
    Structure s = parse(message);
    std::vector<Edit> edits{Edit::remove(2), Edit::remove_header("x-old"), Edit::add_header("X-Filtered", "attachment removed"),
                            Edit::add_header("Received", "from edge", true)};
    auto out = rewrite(message, s, edits);
    ASSERT_TRUE(out.ok()) << out.error().message;
    Structure r = parse(*out);
    EXPECT_FALSE(r.malformed()) << flag_names(r.flags);
    ASSERT_EQ(r.parts.size(), 3u);
    EXPECT_EQ(r.parts[2].content_type.mime_type(), "text/html");
    EXPECT_EQ(out->find("X-Old"), std::string::npos);
    EXPECT_EQ(out->rfind("Received: from edge\r\nFrom: a@example.test\r\n", 0), 0u);
    EXPECT_NE(out->find("Content-Type: multipart/mixed; boundary=\"outer\"\r\nX-Filtered: attachment removed\r\n\r\npreamble"),
              std::string::npos);
    EXPECT_EQ(bytes_of(*out, r.parts[1]), bytes_of(message, s.parts[1]));
}

TEST(Rewrite, RemoveFirstPartWithoutPreamble) {
    std::string m = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\n";
    Structure s = parse(m);
    std::vector<Edit> edits{Edit::remove(1)};
    auto out = rewrite(m, s, edits);
    ASSERT_TRUE(out.ok());
    Structure r = parse(*out);
    EXPECT_FALSE(r.malformed()) << flag_names(r.flags);
    ASSERT_EQ(r.parts.size(), 2u);
    EXPECT_EQ(decode_to_string(*out, r.parts[1], 100), "two");
}

TEST(Rewrite, RefusesEditsThatWouldBreakTheStructure) {
    Structure s = parse(message);
    auto refused = [&](std::vector<Edit> edits) { return !rewrite(message, s, edits).ok(); };
    EXPECT_TRUE(refused({Edit::replace(2, "Content-Type: text/plain\r\n\r\n--outer--\r\nsmuggled")}));
    EXPECT_TRUE(refused({Edit::replace(2, "Content-Type: text/plain\n\nbare LF")}));
    EXPECT_TRUE(refused({Edit::remove(1), Edit::remove(2), Edit::remove(3)}));
    EXPECT_TRUE(refused({Edit::remove(0)}));
    EXPECT_TRUE(refused({Edit::replace(9, "")}));
    EXPECT_TRUE(refused({Edit::replace(2, text_part("a")), Edit::remove(2)}));
    EXPECT_TRUE(refused({Edit::add_header("Bad Name", "x")}));
    EXPECT_TRUE(refused({Edit::add_header("X-A", "line\r\nInjected: yes")}));
    EXPECT_TRUE(refused({Edit::remove_header("Content-Type")}));
    EXPECT_FALSE(refused({}));
}

TEST(Rewrite, AddHeaderToMessageWithoutSeparator) {
    std::string m = "Subject: x";   // no line end, no body
    Structure s = parse(m);
    std::vector<Edit> edits{Edit::add_header("X-A", "1")};
    auto out = rewrite(m, s, edits);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(*out, "Subject: x\r\nX-A: 1\r\n");
}

TEST(TextPart, NonAsciiIsBase64) {
    std::string p = text_part("Anhang entfernt: \xc3\xa4.exe\n");
    EXPECT_NE(p.find("Content-Transfer-Encoding: base64"), std::string::npos);
    Structure s = parse(p);
    EXPECT_EQ(decode_to_string(p, s.parts[0], 100), "Anhang entfernt: \xc3\xa4.exe\r\n");
}
