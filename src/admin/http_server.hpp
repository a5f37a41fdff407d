// admin/http_server.hpp — the admin listener: a small HTTP/1.1 server with a router
// (path → handler), serving /metrics now and the web console later.
// Trust: anyone who can reach the address. Requests are bounded (admin/http_request.hpp),
// each connection has one deadline for the whole request (slow clients are cut off), at
// most kMaxConnections are served at once, and one request is answered per connection
// (Connection: close). With a token, every request must carry `Authorization: Bearer
// TOKEN` (compared in constant time) before routing: 401 otherwise, so unauthenticated
// clients learn nothing, not even which paths exist — except on routes added with
// RouteAccess::Open (the web console, which has its own sign-in). With a TLS context it
// speaks HTTPS only.
// Contract: a bad request gets 400/401/404/405/413/431/501/505 and the connection closes;
// a handler that throws gives 500. Never a crash, never a hang.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "admin/http_request.hpp"
#include "util/result.hpp"

namespace asio::ssl {
class context;
}

namespace rampart::admin {

struct HttpResponse {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;   // more fields
};

using HttpHandler = std::function<asio::awaitable<HttpResponse>(const HttpRequest&)>;

// Token: the bearer token (if one is set) is asked before the route is served. Open: the
// route authenticates on its own (the console's session gate); no token is asked.
enum class RouteAccess { Token, Open };

struct HttpServerSettings {
    std::string host = "127.0.0.1";                  // numeric address
    std::uint16_t port = 0;                          // 0: any free port (tests)
    std::shared_ptr<asio::ssl::context> tls;         // null: plain HTTP
    std::string token;                               // empty: no Authorization asked
    HttpLimits limits;
    std::chrono::milliseconds request_timeout{std::chrono::seconds(10)};   // whole request, from accept
    std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
};

class HttpServer {
public:
    static constexpr std::size_t kMaxConnections = 64;

    HttpServer(asio::any_io_executor ex, HttpServerSettings settings);
    ~HttpServer();

    // `methods`: the methods the path answers ("GET" also answers HEAD); others get 405.
    void route(std::string path, std::vector<std::string> methods, HttpHandler handler,
               RouteAccess access = RouteAccess::Token);
    bool tls() const;   // speaks HTTPS

    // Binds and starts accepting; the error names the address.
    Result<Ok> open();
    std::uint16_t port() const;   // the bound port (after open)
    // Stops accepting; call before the executor's context is destroyed.
    void close();

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

// Constant-time comparison of a presented secret with the expected one (the length of the
// expected one may leak, not its content).
bool equal_secret(std::string_view presented, std::string_view expected);

std::string_view status_text(int status);

}  // namespace rampart::admin
