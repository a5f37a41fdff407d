// filter/http_client.cpp — the POST exchange (see http_client.hpp).
#include "filter/http_client.hpp"

#include <array>
#include <charconv>
#include <variant>

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "util/text.hpp"

namespace rampart::filter {
namespace {

HttpResponse failed(std::string why) {
    HttpResponse r;
    r.error = std::move(why);
    return r;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

bool clean_value(std::string_view v) {
    for (char c : v)
        if (c == '\r' || c == '\n' || c == '\0') return false;
    return true;
}

asio::awaitable<HttpResponse> exchange(const config::Endpoint& address, std::string_view target, const HttpFields& fields,
                                       std::string_view body, std::size_t max_body) {
    auto ex = co_await asio::this_coro::executor;
    std::error_code ec;
    asio::ip::address ip = asio::ip::make_address(address.host, ec);
    if (ec) co_return failed("bad address " + address.host);
    asio::ip::tcp::socket s(ex);
    co_await s.async_connect(asio::ip::tcp::endpoint(ip, address.port), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return failed("cannot connect to " + address.text() + ": " + ec.message());

    std::string head = "POST " + std::string(target) + " HTTP/1.1\r\nHost: " + address.text() + "\r\nConnection: close\r\n";
    for (const auto& [name, value] : fields)
        if (clean_value(name) && clean_value(value)) head += name + ": " + value + "\r\n";
    head += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    std::array<asio::const_buffer, 2> out{asio::buffer(head), asio::buffer(body.data(), body.size())};
    co_await asio::async_write(s, out, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return failed("sending to " + address.text() + " failed: " + ec.message());

    std::string in;
    std::array<char, 8192> buf;
    std::size_t head_end = std::string::npos;
    std::optional<HttpHead> parsed;
    bool eof = false;
    while (true) {
        if (!parsed) {
            head_end = in.find("\r\n\r\n");
            if (head_end != std::string::npos) {
                parsed = parse_http_head(std::string_view(in).substr(0, head_end));
                if (!parsed->error.empty()) co_return failed("garbled reply from " + address.text() + ": " + parsed->error);
                if (parsed->content_length && *parsed->content_length > max_body)
                    co_return failed("reply from " + address.text() + " larger than " + std::to_string(max_body) + " bytes");
            } else if (in.size() > kHttpMaxHead) {
                co_return failed("reply head from " + address.text() + " longer than " + std::to_string(kHttpMaxHead) + " bytes");
            }
        }
        if (parsed) {
            std::size_t have = in.size() - (head_end + 4);
            if (parsed->content_length && have >= *parsed->content_length) break;
            if (have > max_body) co_return failed("reply from " + address.text() + " larger than " + std::to_string(max_body) + " bytes");
            if (eof) {
                if (parsed->content_length) co_return failed("reply from " + address.text() + " truncated");
                break;
            }
        } else if (eof) {
            co_return failed(in.empty() ? "connection closed by " + address.text() + " without a reply"
                                        : "reply from " + address.text() + " truncated");
        }
        std::size_t n = co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
        in.append(buf.data(), n);
        if (ec == asio::error::eof) eof = true;
        else if (ec) co_return failed("reading from " + address.text() + " failed: " + ec.message());
    }
    HttpResponse r;
    r.ok = true;
    r.status = parsed->status;
    std::size_t len = parsed->content_length ? *parsed->content_length : in.size() - (head_end + 4);
    r.body = in.substr(head_end + 4, len);
    co_return r;
}

}  // namespace

HttpHead parse_http_head(std::string_view head) {
    HttpHead h;
    std::size_t eol = head.find("\r\n");
    std::string_view status_line = head.substr(0, eol);
    // "HTTP/1.1 200 OK"
    if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ') {
        h.error = "not an HTTP/1.x status line";
        return h;
    }
    std::string_view code = status_line.substr(9, 3);
    int status = 0;
    auto [p, e] = std::from_chars(code.data(), code.data() + code.size(), status);
    if (e != std::errc() || p != code.data() + 3 || status < 100 || status > 599 ||
        (status_line.size() > 12 && status_line[12] != ' ')) {
        h.error = "bad status code";
        return h;
    }
    h.status = status;
    std::size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
    while (pos < head.size()) {
        std::size_t next = head.find("\r\n", pos);
        std::string_view line = head.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos);
        pos = next == std::string_view::npos ? head.size() : next + 2;
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) {
            h.error = "header field without a name";
            return h;
        }
        std::string name = util::ascii_lower(std::string(line.substr(0, colon)));
        std::string_view value = trim(line.substr(colon + 1));
        if (name == "content-length") {
            std::size_t n = 0;
            auto [q, err] = std::from_chars(value.data(), value.data() + value.size(), n);
            if (value.empty() || err != std::errc() || q != value.data() + value.size() || (h.content_length && *h.content_length != n)) {
                h.error = "bad Content-Length";
                return h;
            }
            h.content_length = n;
        } else if (name == "transfer-encoding" || name == "content-encoding") {
            if (util::ascii_lower(std::string(value)) != "identity") {
                h.error = "encoded body (" + name + ") not supported";
                return h;
            }
        }
    }
    return h;
}

asio::awaitable<HttpResponse> http_post(const config::Endpoint& address, std::string_view target, const HttpFields& fields,
                                        std::string_view body, std::chrono::milliseconds timeout, std::size_t max_body) {
    using namespace asio::experimental::awaitable_operators;
    try {
        asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
        // Named locals: GCC 12 mishandles temporaries inside co_await expressions.
        asio::awaitable<HttpResponse> call = exchange(address, target, fields, body, max_body);
        asio::awaitable<void> deadline = timer.async_wait(asio::use_awaitable);
        auto race = std::move(call) || std::move(deadline);
        std::variant<HttpResponse, std::monostate> r = co_await std::move(race);
        if (r.index() == 0) co_return std::get<0>(std::move(r));
    } catch (const std::exception& e) {
        co_return failed(std::string("HTTP exchange failed: ") + e.what());
    }
    co_return failed("no reply from " + address.text() + " within " + std::to_string(timeout.count()) + " ms");
}

}  // namespace rampart::filter
