// The admin listener's HTTP server on a real loopback socket: routing (404, 405 with Allow,
// HEAD), the bearer token before routing (401) except on open routes (the console), a
// throwing handler (500), and the server answering the next request after each.
#include "admin/http_server.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

namespace rampart::admin {
namespace {

asio::awaitable<HttpResponse> hello(std::string query) {
    HttpResponse r;
    r.body = "hello " + query + "\n";
    co_return r;
}

asio::awaitable<HttpResponse> boom() {
    throw std::runtime_error("handler failed");
    co_return HttpResponse{};
}

class HttpServerTest : public ::testing::Test {
protected:
    void start(std::string token) {
        HttpServerSettings s;
        s.host = "127.0.0.1";
        s.port = 0;
        s.token = std::move(token);
        server_ = std::make_unique<HttpServer>(ctx_.get_executor(), std::move(s));
        server_->route("/hello", {"GET"}, [](const HttpRequest& r) { return hello(r.query); });
        server_->route("/boom", {"GET", "POST"}, [](const HttpRequest&) { return boom(); });
        server_->route("/open", {"GET"}, [](const HttpRequest& r) { return hello(r.client); }, RouteAccess::Open);
        ASSERT_TRUE(server_->open().ok());
        thread_ = std::thread([this] { ctx_.run(); });
    }
    void TearDown() override {
        if (server_) asio::post(ctx_, [this] { server_->close(); });
        ctx_.stop();
        if (thread_.joinable()) thread_.join();
        server_.reset();
    }
    // Sends `request` and reads until the server closes.
    std::string ask(const std::string& request) {
        asio::io_context io;
        asio::ip::tcp::socket s(io);
        s.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
        asio::write(s, asio::buffer(request));
        std::string out;
        std::error_code ec;
        asio::read(s, asio::dynamic_buffer(out), ec);
        return out;
    }

    asio::io_context ctx_;
    std::unique_ptr<HttpServer> server_;
    std::thread thread_;
};

TEST_F(HttpServerTest, RoutesAndRefuses) {
    start("");
    std::string ok = ask("GET /hello?x HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(ok.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << ok;
    EXPECT_NE(ok.find("Content-Length: 8\r\n"), std::string::npos) << ok;
    EXPECT_NE(ok.find("Connection: close\r\n"), std::string::npos);
    EXPECT_EQ(ok.substr(ok.size() - 8), "hello x\n");
    std::string head = ask("HEAD /hello HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
    EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n") << "HEAD has no body";
    EXPECT_EQ(ask("GET /nope HTTP/1.1\r\nHost: h\r\n\r\n").rfind("HTTP/1.1 404 ", 0), 0u);
    std::string m = ask("DELETE /hello HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(m.rfind("HTTP/1.1 405 ", 0), 0u) << m;
    EXPECT_NE(m.find("Allow: GET, HEAD\r\n"), std::string::npos) << m;
    EXPECT_EQ(ask("GET /boom HTTP/1.1\r\nHost: h\r\n\r\n").rfind("HTTP/1.1 500 ", 0), 0u);
    EXPECT_EQ(ask("GET /hello HTTP/1.1\nHost: h\n\n").rfind("HTTP/1.1 400 ", 0), 0u);
    EXPECT_EQ(ask("GET /hello HTTP/1.1\r\nHost: h\r\n\r\n").rfind("HTTP/1.1 200 ", 0), 0u) << "still serving";
}

TEST_F(HttpServerTest, TokenIsCheckedBeforeRouting) {
    start("tok3n");
    for (const char* auth : {"", "Authorization: Bearer tok3m\r\n", "Authorization: Bearer tok3n2\r\n", "Authorization: Bearer \r\n",
                             "Authorization: bearer tok3n\r\n"}) {
        for (const char* path : {"/hello", "/nope"}) {
            std::string r = ask(std::string("GET ") + path + " HTTP/1.1\r\nHost: h\r\n" + auth + "\r\n");
            EXPECT_EQ(r.rfind("HTTP/1.1 401 ", 0), 0u) << auth << path << r;
            EXPECT_NE(r.find("WWW-Authenticate: Bearer realm=\"rampart\"\r\n"), std::string::npos);
        }
    }
    EXPECT_EQ(ask("GET /hello HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer tok3n\r\n\r\n").rfind("HTTP/1.1 200 ", 0), 0u);
}

TEST_F(HttpServerTest, OpenRoutesNeedNoTokenAndSeeTheClient) {
    start("tok3n");
    std::string r = ask("GET /open HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(r.rfind("HTTP/1.1 200 ", 0), 0u) << r;
    EXPECT_EQ(r.substr(r.size() - 16), "hello 127.0.0.1\n") << r;
    // The other routes and unknown paths keep the token.
    EXPECT_EQ(ask("GET /hello HTTP/1.1\r\nHost: h\r\n\r\n").rfind("HTTP/1.1 401 ", 0), 0u);
    EXPECT_EQ(ask("GET /open/x HTTP/1.1\r\nHost: h\r\n\r\n").rfind("HTTP/1.1 401 ", 0), 0u);
    EXPECT_EQ(ask("POST /open HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n").rfind("HTTP/1.1 405 ", 0), 0u);
}

TEST(EqualSecret, ComparesWholeSecrets) {
    EXPECT_TRUE(equal_secret("abc", "abc"));
    EXPECT_FALSE(equal_secret("abd", "abc"));
    EXPECT_FALSE(equal_secret("ab", "abc"));
    EXPECT_FALSE(equal_secret("abcd", "abc"));
    EXPECT_FALSE(equal_secret("", "abc"));
}

}  // namespace
}  // namespace rampart::admin
