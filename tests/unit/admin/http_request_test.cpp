// The admin listener's request parser: valid requests, every refusal and its status, limits.
#include "admin/http_request.hpp"

#include <gtest/gtest.h>

#include <string>

namespace rampart::admin {
namespace {

using Status = HttpParse::Status;

TEST(HttpRequest, ParsesAGetWithQueryAndHeaders) {
    std::string raw = "GET /metrics?name=x HTTP/1.1\r\nHost: 127.0.0.1:2580\r\nAuthorization:  Bearer abc \r\nAccept: */*\r\n\r\n";
    HttpParse p = parse_http_request(raw);
    ASSERT_EQ(p.status, Status::Complete) << p.error;
    EXPECT_EQ(p.request.method, "GET");
    EXPECT_EQ(p.request.path, "/metrics");
    EXPECT_EQ(p.request.query, "name=x");
    EXPECT_EQ(p.request.minor_version, 1);
    EXPECT_EQ(p.request.header("authorization"), "Bearer abc");
    EXPECT_EQ(p.request.header("host"), "127.0.0.1:2580");
    EXPECT_FALSE(p.request.header("Cookie"));
    EXPECT_EQ(p.consumed, raw.size());
}

TEST(HttpRequest, IncompleteUntilTheBlankLineAndTheBody) {
    EXPECT_EQ(parse_http_request("GET /metrics HTTP/1.1\r\nHost: a\r\n").status, Status::Incomplete);
    EXPECT_EQ(parse_http_request("").status, Status::Incomplete);
    std::string post = "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab";
    EXPECT_EQ(parse_http_request(post).status, Status::Incomplete);
    HttpParse p = parse_http_request(post + "cdeEXTRA");
    ASSERT_EQ(p.status, Status::Complete);
    EXPECT_EQ(p.request.body, "abcde");
    EXPECT_EQ(p.consumed, post.size() + 3);
}

TEST(HttpRequest, Http10NeedsNoHost) {
    EXPECT_EQ(parse_http_request("GET / HTTP/1.0\r\n\r\n").status, Status::Complete);
    HttpParse p = parse_http_request("GET / HTTP/1.1\r\n\r\n");
    EXPECT_EQ(p.status, Status::Bad);
    EXPECT_EQ(p.error_status, 400);
}

struct BadCase {
    std::string raw;
    int status;
};

TEST(HttpRequest, RefusesWhatIsNotPlainlyValid) {
    const BadCase cases[] = {
        {"GET /metrics HTTP/1.1\nHost: a\n\n", 400},                        // bare LF
        {"GET /metrics HTTP/1.1\r\nHost: a\n\r\n\r\n", 400},                // bare LF inside the head
        {"GET  /metrics HTTP/1.1\r\nHost: a\r\n\r\n", 400},                 // two spaces
        {"GET http://x/metrics HTTP/1.1\r\nHost: a\r\n\r\n", 400},          // absolute-form
        {"GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
        {"GET / HTTX/1.1\r\nHost: a\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400},             // obs-fold
        {"GET / HTTP/1.1\r\nHost a\r\n\r\n", 400},                          // no colon
        {"GET / HTTP/1.1\r\nHo st: a\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
        {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 65537\r\n\r\n", 413},
        {"\r\n\r\n", 400},
    };
    for (const BadCase& c : cases) {
        HttpParse p = parse_http_request(c.raw);
        EXPECT_EQ(p.status, Status::Bad) << c.raw;
        EXPECT_EQ(p.error_status, c.status) << c.raw << " -> " << p.error;
        EXPECT_FALSE(p.error.empty());
    }
}

TEST(HttpRequest, BoundsHeadSizeAndHeaderCount) {
    HttpLimits limits;
    limits.max_head = 256;
    limits.max_headers = 3;
    HttpParse big = parse_http_request("GET / HTTP/1.1\r\nX: " + std::string(300, 'a'), limits);   // no end yet
    EXPECT_EQ(big.status, Status::Bad);
    EXPECT_EQ(big.error_status, 431);
    HttpParse many = parse_http_request("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits);
    EXPECT_EQ(many.status, Status::Bad);
    EXPECT_EQ(many.error_status, 431);
    EXPECT_EQ(parse_http_request("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", limits).status, Status::Complete);
}

}  // namespace
}  // namespace rampart::admin
