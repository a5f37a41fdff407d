// The small HTTP/1.1 client against a peer written here: a good answer (by Content-Length
// and by end of connection), garbage, a truncated body, an oversized body, silence past the
// deadline, a refused connection; and the head parser alone.
#include "filter/http_client.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/streambuf.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <gtest/gtest.h>

using namespace rampart;

namespace {

// A one-connection peer: reads the request head and its Content-Length body, then sends
// `answer` and closes (or, when `silent`, waits 30 s first).
struct Peer {
    asio::ip::tcp::acceptor acceptor;
    std::string request;
    explicit Peer(asio::io_context& io) : acceptor(io, {asio::ip::make_address("127.0.0.1"), 0}) {}
    std::uint16_t port() const { return acceptor.local_endpoint().port(); }
    asio::awaitable<void> serve(std::string answer, bool silent) {
        auto s = co_await acceptor.async_accept(asio::use_awaitable);
        std::string in;
        std::size_t n = co_await asio::async_read_until(s, asio::dynamic_buffer(in), "\r\n\r\n", asio::use_awaitable);
        std::string head = in.substr(0, n);
        std::size_t cl = head.find("Content-Length: ");
        std::size_t len = cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 16));
        if (in.size() < n + len) co_await asio::async_read(s, asio::dynamic_buffer(in), asio::transfer_exactly(n + len - in.size()), asio::use_awaitable);
        request = in;
        if (silent) {
            asio::steady_timer t(s.get_executor(), std::chrono::seconds(30));
            std::error_code ec;
            co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        std::error_code ec;
        co_await asio::async_write(s, asio::buffer(answer), asio::redirect_error(asio::use_awaitable, ec));
        s.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    }
};

asio::awaitable<void> post_into(filter::HttpResponse* out, config::Endpoint address, filter::HttpFields fields, std::string body,
                                std::chrono::milliseconds timeout, std::size_t max_body, asio::io_context* stop) {
    *out = co_await filter::http_post(address, "/checkv2", fields, body, timeout, max_body);
    if (stop) stop->stop();
}

filter::HttpResponse post_with(std::string answer, bool silent = false, std::string* request = nullptr,
                               std::chrono::milliseconds timeout = std::chrono::seconds(10), std::size_t max_body = 1024) {
    asio::io_context io;
    Peer peer(io);
    asio::co_spawn(io, peer.serve(std::move(answer), silent), asio::detached);
    filter::HttpResponse out;
    filter::HttpFields fields{{"IP", "192.0.2.1"}, {"Rcpt", "a@example.test"}, {"Rcpt", "b@example.test"}, {"Evil", "x\r\nInjected: 1"}};
    asio::co_spawn(io, post_into(&out, {"127.0.0.1", peer.port()}, fields, "message body", timeout, max_body, &io), asio::detached);
    io.run();
    if (request) *request = peer.request;
    return out;
}

}  // namespace

TEST(HttpHead, StatusAndContentLength) {
    auto h = filter::parse_http_head("HTTP/1.1 200 OK\r\nContent-Length: 42\r\nServer: rspamd/3.4");
    EXPECT_TRUE(h.error.empty()) << h.error;
    EXPECT_EQ(h.status, 200);
    EXPECT_EQ(h.content_length, 42u);
    EXPECT_EQ(filter::parse_http_head("HTTP/1.0 500 Internal").status, 500);
    EXPECT_EQ(filter::parse_http_head("HTTP/1.1 204").status, 204);   // the reason phrase may be left out
    for (std::string_view bad : {"", "SMTP 220 hello", "HTTP/1.1 2OO OK", "HTTP/1.1 999 Hm", "HTTP/1.1 200 OK\r\nno colon here",
                                 "HTTP/1.1 200 OK\r\nContent-Length: -1", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999",
                                 "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 5",
                                 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked", "HTTP/1.1 200 OK\r\nContent-Encoding: zstd"})
        EXPECT_FALSE(filter::parse_http_head(bad).error.empty()) << bad;
}

TEST(HttpClient, PostsTheFieldsAndReadsTheBody) {
    std::string request;
    auto r = post_with("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, &request);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hello");
    EXPECT_EQ(request.rfind("POST /checkv2 HTTP/1.1\r\n", 0), 0u) << request;
    EXPECT_NE(request.find("\r\nIP: 192.0.2.1\r\n"), std::string::npos);
    EXPECT_NE(request.find("\r\nRcpt: a@example.test\r\nRcpt: b@example.test\r\n"), std::string::npos);
    EXPECT_EQ(request.find("Injected"), std::string::npos) << "a field with CR LF must be dropped";
    EXPECT_NE(request.find("\r\nContent-Length: 12\r\n\r\nmessage body"), std::string::npos);
    // No Content-Length: the body runs to the end of the connection.
    auto e = post_with("HTTP/1.0 200 OK\r\n\r\nuntil close");
    ASSERT_TRUE(e.ok) << e.error;
    EXPECT_EQ(e.body, "until close");
}

TEST(HttpClient, GarbageTruncationAndSizeAreErrors) {
    auto g = post_with("220 mail.example.test ESMTP\r\n\r\n");
    EXPECT_FALSE(g.ok);
    EXPECT_NE(g.error.find("garbled"), std::string::npos) << g.error;
    auto t = post_with("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort");
    EXPECT_FALSE(t.ok);
    EXPECT_NE(t.error.find("truncated"), std::string::npos) << t.error;
    auto big = post_with("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'x'));
    EXPECT_FALSE(big.ok);
    EXPECT_NE(big.error.find("larger than 1024"), std::string::npos) << big.error;
    auto big_eof = post_with("HTTP/1.0 200 OK\r\n\r\n" + std::string(5000, 'x'));
    EXPECT_FALSE(big_eof.ok);
    auto long_head = post_with("HTTP/1.1 200 OK\r\nX: " + std::string(40000, 'h'));
    EXPECT_FALSE(long_head.ok);
    EXPECT_NE(long_head.error.find("head"), std::string::npos) << long_head.error;
    auto nothing = post_with("");
    EXPECT_FALSE(nothing.ok);
    EXPECT_NE(nothing.error.find("without a reply"), std::string::npos) << nothing.error;
}

TEST(HttpClient, SilenceEndsAtTheDeadlineAndRefusalIsAnError) {
    auto slow = post_with("HTTP/1.1 200 OK\r\n\r\n", true, nullptr, std::chrono::milliseconds(200));
    EXPECT_FALSE(slow.ok);
    EXPECT_NE(slow.error.find("within 200 ms"), std::string::npos) << slow.error;
    std::uint16_t port;
    {
        asio::io_context io;
        asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
        port = a.local_endpoint().port();
    }
    asio::io_context io;
    filter::HttpResponse out;
    asio::co_spawn(io, post_into(&out, {"127.0.0.1", port}, {}, "x", std::chrono::seconds(5), 1024, nullptr), asio::detached);
    io.run();
    EXPECT_FALSE(out.ok);
    EXPECT_NE(out.error.find("cannot connect"), std::string::npos) << out.error;
}
