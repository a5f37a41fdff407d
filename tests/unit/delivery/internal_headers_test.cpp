// Outbound through the edge: internal Received fields and trace headers removed, the
// edge's own Received and the body kept.
#include "delivery/internal_headers.hpp"

#include <gtest/gtest.h>

namespace rampart::delivery {
namespace {

const std::string kMessage =
    "Received: from hub.inside.test ([10.0.0.5])\r\n\tby edge.example.test (rampart) with ESMTPS id 1; Tue, 1 Dec 2026 22:00:00 +0000\r\n"
    "Received: from ws17.inside.test ([10.1.2.3])\r\n\tby hub.inside.test (rampart) with ESMTPSA id 2; Tue, 1 Dec 2026 21:59:59 +0000\r\n"
    "X-Originating-IP: [10.1.2.3]\r\n"
    "x-mailer-host: ws17.inside.test\r\n"
    "From: alice@example.test\r\n"
    "Subject: Received: by hub.inside.test\r\n"
    "\r\n"
    "Received: from body.inside.test is body text\r\n"
    "X-Originating-IP: [10.9.9.9] in the body stays\r\n";

TEST(InternalHeadersTest, RemovesEverythingBelowOurOwnReceivedAndTraceFields) {
    std::size_t removed = 0;
    std::string out = strip_internal_headers(kMessage, "Edge.Example.Test", &removed);
    EXPECT_EQ(removed, 3u);
    EXPECT_NE(out.find("by edge.example.test (rampart)"), std::string::npos);
    EXPECT_EQ(out.find("ws17.inside.test ([10.1.2.3])"), std::string::npos);
    EXPECT_EQ(out.find("X-Originating-IP: [10.1.2.3]"), std::string::npos);
    EXPECT_EQ(out.find("x-mailer-host"), std::string::npos);
    EXPECT_NE(out.find("Subject: Received: by hub.inside.test\r\n"), std::string::npos);   // not a Received field
    EXPECT_NE(out.find("\r\n\r\nReceived: from body.inside.test is body text\r\nX-Originating-IP: [10.9.9.9] in the body stays\r\n"),
              std::string::npos);
}

TEST(InternalHeadersTest, OurOwnReceivedFromTheHubHidesTheHub) {
    const std::string m =
        "Received: from hub.inside.test ([10.0.0.5])\r\n\tby edge.example.test (rampart) with ESMTPS id 1\r\n"
        "\t(TLSv1.3 x)\r\n\t(authenticated as server:hub by TLS client certificate)\r\n\t; Tue, 1 Dec 2026 22:00:00 +0000\r\n"
        "\r\nbody\r\n";
    std::string out = strip_internal_headers(m, "edge.example.test");
    EXPECT_EQ(out,
              "Received: from internal.invalid\r\n\tby edge.example.test (rampart) with ESMTPS id 1\r\n"
              "\t(TLSv1.3 x)\r\n\t; Tue, 1 Dec 2026 22:00:00 +0000\r\n\r\nbody\r\n");
}

TEST(InternalHeadersTest, WithoutOurOwnReceivedEveryReceivedStays) {
    std::size_t removed = 0;
    std::string out = strip_internal_headers(kMessage, "other.example.test", &removed);
    EXPECT_EQ(removed, 2u);   // the trace fields only
    EXPECT_NE(out.find("by hub.inside.test (rampart)"), std::string::npos);
}

TEST(InternalHeadersTest, HeaderOnlyMessageAndBareFieldsAreSafe) {
    EXPECT_EQ(strip_internal_headers("", "edge.example.test"), "");
    EXPECT_EQ(strip_internal_headers("X-Originating-IP: 1\r\n", "edge.example.test"), "");
    EXPECT_EQ(strip_internal_headers("\r\nbody\r\n", "edge.example.test"), "\r\nbody\r\n");
    EXPECT_EQ(strip_internal_headers("X-Originating-IPv6: x\r\n\r\n", "e.test"), "X-Originating-IPv6: x\r\n\r\n");
}

}  // namespace
}  // namespace rampart::delivery
