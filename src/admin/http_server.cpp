// admin/http_server.cpp — accept loop, one bounded request per connection, routing.
#include "admin/http_server.hpp"

#include <openssl/crypto.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "net/accept_backoff.hpp"
#include "net/socket_stream.hpp"
#include "util/log.hpp"

namespace rampart::admin {

using Clock = std::chrono::steady_clock;

std::string_view status_text(int status) {
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 303: return "See Other";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 421: return "Misdirected Request";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

bool equal_secret(std::string_view presented, std::string_view expected) {
    // Compare against the expected length always, so the time does not depend on where the
    // first difference is nor (beyond the expected length) on the presented length.
    std::string padded(expected.size(), '\0');
    padded.replace(0, std::min(presented.size(), expected.size()), presented.substr(0, expected.size()));
    bool same = CRYPTO_memcmp(padded.data(), expected.data(), expected.size()) == 0;
    return same && presented.size() == expected.size();
}

namespace {

struct Route {
    std::string path;
    std::vector<std::string> methods;
    HttpHandler handler;
    RouteAccess access = RouteAccess::Token;
};

std::string render(const HttpResponse& r, bool head_only) {
    std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + std::string(status_text(r.status)) + "\r\n";
    out += "Content-Type: " + r.content_type + "\r\n";
    out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
    out += "Connection: close\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n";
    for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
    out += "\r\n";
    if (!head_only) out += r.body;
    return out;
}

HttpResponse error_response(int status, std::string why) {
    HttpResponse r;
    r.status = status;
    r.body = std::string(status_text(status)) + (why.empty() ? "" : ": " + why) + "\n";
    return r;
}

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
    asio::any_io_executor ex;
    HttpServerSettings settings;
    std::vector<Route> routes;
    std::unique_ptr<asio::ip::tcp::acceptor> acceptor;
    std::size_t connections = 0;

    asio::awaitable<void> accept_loop() {
        auto self = shared_from_this();   // the loop outlives close() by one wake-up
        net::AcceptBackoff backoff("admin");
        while (acceptor && acceptor->is_open()) {
            std::error_code ec;
            asio::ip::tcp::socket s(ex);
            co_await acceptor->async_accept(s, asio::redirect_error(asio::use_awaitable, ec));
            if (ec == asio::error::operation_aborted) co_return;
            if (ec) {   // EMFILE and the like: back off, never spin
                co_await backoff.wait_after(ec);
                continue;
            }
            backoff.accepted();
            if (connections >= HttpServer::kMaxConnections) {
                log::warn("admin.busy", {{"max_connections", HttpServer::kMaxConnections}});
                s.close(ec);
                continue;
            }
            asio::co_spawn(ex, serve(self, std::move(s)), asio::detached);
        }
    }

    static asio::awaitable<void> serve(std::shared_ptr<Impl> self, asio::ip::tcp::socket socket) {
        ++self->connections;
        std::string client;
        std::error_code ec;
        auto remote = socket.remote_endpoint(ec);
        if (!ec) client = remote.address().to_string();
        net::TcpStream stream(std::move(socket));
        try {
            co_await self->answer(stream, client);
        } catch (const std::exception& e) {
            log::error("admin.exception", {{"client", client}, {"error", e.what()}});
        }
        stream.close();
        --self->connections;
    }

    asio::awaitable<void> answer(net::TcpStream& stream, const std::string& client) {
        const auto deadline = Clock::now() + settings.request_timeout;
        auto left = [&] {
            return std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
        };
        if (settings.tls && !co_await stream.accept_tls(*settings.tls, left())) {
            log::info("admin.tls.failed", {{"client", client}, {"error", stream.tls_error()}});
            co_return;
        }
        std::string buf;
        HttpParse parsed;
        char chunk[4096];
        while (true) {
            parsed = parse_http_request(buf, settings.limits);
            if (parsed.status != HttpParse::Status::Incomplete) break;
            // Named locals, not temporaries, in co_await expressions: GCC 12 destroys such
            // temporaries too early across the suspension.
            HttpResponse late = error_response(408, "request not complete in time");
            if (Clock::now() >= deadline) {
                co_await send(stream, late, false);
                co_return;
            }
            std::size_t n = co_await stream.read_some(asio::buffer(chunk), left());
            if (n == 0) {
                if (stream.end() == net::StreamEnd::Timeout) co_await send(stream, late, false);
                co_return;   // the client went away
            }
            buf.append(chunk, n);
        }
        if (parsed.status == HttpParse::Status::Bad) {
            log::info("admin.request.bad", {{"client", client}, {"status", parsed.error_status}, {"reason", parsed.error}});
            HttpResponse refusal = error_response(parsed.error_status, parsed.error);
            co_await send(stream, refusal, false, true);
            co_return;
        }
        HttpRequest& req = parsed.request;
        req.client = client;
        HttpResponse resp = co_await dispatch(req);
        log::info("admin.request", {{"client", client}, {"method", req.method}, {"path", req.path}, {"status", resp.status},
                                    {"bytes", resp.body.size()}});
        co_await send(stream, resp, req.method == "HEAD");
    }

    asio::awaitable<HttpResponse> dispatch(const HttpRequest& req) {
        bool open = false;
        for (const Route& route : routes) open = open || (route.path == req.path && route.access == RouteAccess::Open);
        if (!settings.token.empty() && !open) {
            std::string_view presented;
            if (auto a = req.header("Authorization"); a && a->size() > 7 && a->substr(0, 7) == "Bearer ") presented = a->substr(7);
            if (!equal_secret(presented, settings.token)) {
                HttpResponse r = error_response(401, "a bearer token is required");
                r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"rampart\"");
                co_return r;
            }
        }
        for (const Route& route : routes) {
            if (route.path != req.path) continue;
            bool allowed = false;
            std::string allow;
            for (const std::string& m : route.methods) {
                allowed = allowed || m == req.method || (m == "GET" && req.method == "HEAD");
                allow += (allow.empty() ? "" : ", ") + m + (m == "GET" ? ", HEAD" : "");
            }
            if (!allowed) {
                HttpResponse r = error_response(405, req.method + " is not allowed here");
                r.headers.emplace_back("Allow", allow);
                co_return r;
            }
            try {
                co_return co_await route.handler(req);
            } catch (const std::exception& e) {
                log::error("admin.handler.failed", {{"path", req.path}, {"error", e.what()}});
                co_return error_response(500, "");
            }
        }
        co_return error_response(404, "");
    }

    // `unread`: the client may still be sending (a request refused before its end). Closing
    // a socket with unread bytes sends a reset that can destroy the response in flight, so
    // stop sending, then read and drop what comes for a moment (bounded: 1 s, 1 MiB).
    asio::awaitable<void> send(net::TcpStream& stream, const HttpResponse& r, bool head_only, bool unread = false) {
        std::string wire = render(r, head_only);
        if (!co_await stream.write(wire, settings.write_timeout)) co_return;
        if (unread) {
            co_await stream.shutdown_send();
            char sink[4096];
            const auto until = Clock::now() + std::chrono::seconds(1);
            for (std::size_t drained = 0; drained < (1u << 20) && Clock::now() < until;) {
                auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
                std::size_t n = co_await stream.read_some(asio::buffer(sink), std::max(left, std::chrono::milliseconds(1)));
                if (n == 0) break;
                drained += n;
            }
        }
        co_await stream.finish();
    }
};

HttpServer::HttpServer(asio::any_io_executor ex, HttpServerSettings settings) : impl_(std::make_shared<Impl>()) {
    impl_->ex = std::move(ex);
    impl_->settings = std::move(settings);
}

HttpServer::~HttpServer() { close(); }

void HttpServer::route(std::string path, std::vector<std::string> methods, HttpHandler handler, RouteAccess access) {
    impl_->routes.push_back(Route{std::move(path), std::move(methods), std::move(handler), access});
}

bool HttpServer::tls() const { return impl_->settings.tls != nullptr; }

Result<Ok> HttpServer::open() {
    std::error_code ec;
    auto addr = asio::ip::make_address(impl_->settings.host, ec);
    std::string where = (addr.is_v6() ? "[" + impl_->settings.host + "]" : impl_->settings.host) + ":" + std::to_string(impl_->settings.port);
    if (ec) return Error{EINVAL, "admin.bind: " + where + ": not a numeric address"};
    asio::ip::tcp::endpoint ep(addr, impl_->settings.port);
    auto acceptor = std::make_unique<asio::ip::tcp::acceptor>(impl_->ex);
    acceptor->open(ep.protocol(), ec);
    if (!ec) acceptor->set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor->bind(ep, ec);
    if (!ec) acceptor->listen(64, ec);
    if (ec) return Error{ec.value(), "admin.bind: " + where + ": " + ec.message()};
    impl_->acceptor = std::move(acceptor);
    asio::co_spawn(impl_->ex, impl_->accept_loop(), asio::detached);
    return Ok{};
}

std::uint16_t HttpServer::port() const {
    std::error_code ec;
    return impl_->acceptor ? impl_->acceptor->local_endpoint(ec).port() : 0;
}

void HttpServer::reload_token(std::string token) { impl_->settings.token = std::move(token); }

void HttpServer::close() {
    if (impl_->acceptor) {
        std::error_code ec;
        impl_->acceptor->close(ec);
        impl_->acceptor.reset();
    }
}

}  // namespace rampart::admin
