// filter/icap.cpp — the ICAP exchange (see icap.hpp): request head, the message in chunks of
// kIcapChunk bytes, "0" to end; then the reply, read until complete or the connection closes.
#include "filter/icap.hpp"

#include <array>
#include <variant>

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "filter/icap_reply.hpp"

namespace rampart::filter {
namespace {

ClamdReply failed(std::string text) { return {ClamdReply::Kind::Error, {}, std::move(text)}; }

char hex_digit(std::size_t n) { return "0123456789abcdef"[n & 15]; }

std::string hex(std::size_t n) {
    std::string out;
    do {
        out.insert(out.begin(), hex_digit(n));
        n >>= 4;
    } while (n);
    return out;
}

template <class Socket>
asio::awaitable<ClamdReply> exchange(Socket& s, const std::string& head, std::string_view data) {
    std::error_code ec;
    co_await asio::async_write(s, asio::buffer(head), asio::redirect_error(asio::use_awaitable, ec));
    for (std::size_t pos = 0; !ec && pos < data.size(); pos += kIcapChunk) {
        std::string_view chunk = data.substr(pos, kIcapChunk);
        std::string size = hex(chunk.size()) + "\r\n";
        static constexpr char kCrlf[] = "\r\n";
        std::array<asio::const_buffer, 3> bufs{asio::buffer(size), asio::buffer(chunk.data(), chunk.size()), asio::buffer(kCrlf, 2)};
        co_await asio::async_write(s, bufs, asio::redirect_error(asio::use_awaitable, ec));
    }
    if (!ec) {
        static constexpr char kEnd[] = "0\r\n\r\n";
        co_await asio::async_write(s, asio::buffer(kEnd, 5), asio::redirect_error(asio::use_awaitable, ec));
    }
    // After a failed write the server may still have said why before closing: read either way.
    IcapReplyReader reader(data.size());
    std::array<char, 16 * 1024> buf;
    bool got_any = false;
    while (reader.state() == IcapReplyReader::State::NeedMore) {
        std::error_code rec;
        std::size_t n = co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, rec));
        if (n) got_any = true;
        reader.feed(std::string_view(buf.data(), n));
        if (rec) {
            reader.finish();
            break;
        }
    }
    if (reader.state() == IcapReplyReader::State::Error) {
        if (ec && !got_any) co_return failed("sending the message to the ICAP server failed: " + ec.message());
        co_return failed(reader.error());
    }
    co_return interpret_icap_reply(reader.response(), data);
}

asio::awaitable<ClamdReply> scan(const config::AntivirusEngine& engine, std::string_view data) {
    auto ex = co_await asio::this_coro::executor;
    std::error_code ec;
    const config::Endpoint& address = engine.address;
    if (address.port == 0) {
        asio::local::stream_protocol::socket s(ex);
        co_await s.async_connect(asio::local::stream_protocol::endpoint(address.host),
                                 asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return failed("cannot connect to the ICAP server at unix:" + address.host + ": " + ec.message());
        std::string head = icap_request_head("localhost", engine.service, engine.reqmod, data.size());
        co_return co_await exchange(s, head, data);
    }
    asio::ip::address ip = asio::ip::make_address(address.host, ec);
    if (ec) co_return failed("bad ICAP server address " + address.host);
    asio::ip::tcp::socket s(ex);
    co_await s.async_connect(asio::ip::tcp::endpoint(ip, address.port), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return failed("cannot connect to the ICAP server at " + address.text() + ": " + ec.message());
    std::string head = icap_request_head(address.text(), engine.service, engine.reqmod, data.size());
    co_return co_await exchange(s, head, data);
}

}  // namespace

std::string icap_request_head(const std::string& host, const std::string& service, bool reqmod, std::size_t body_size) {
    std::string length = std::to_string(body_size);
    std::string encapsulated;
    if (reqmod) {
        encapsulated = "POST /message HTTP/1.1\r\nHost: rampart\r\nContent-Type: message/rfc822\r\nContent-Length: " + length + "\r\n\r\n";
    } else {
        std::string req = "GET /message HTTP/1.1\r\nHost: rampart\r\n\r\n";
        std::string res = "HTTP/1.1 200 OK\r\nContent-Type: message/rfc822\r\nContent-Length: " + length + "\r\n\r\n";
        encapsulated = req + res;
        return "RESPMOD icap://" + host + "/" + service + " ICAP/1.0\r\nHost: " + host +
               "\r\nAllow: 204\r\nConnection: close\r\nEncapsulated: req-hdr=0, res-hdr=" + std::to_string(req.size()) +
               ", res-body=" + std::to_string(req.size() + res.size()) + "\r\n\r\n" + encapsulated;
    }
    return "REQMOD icap://" + host + "/" + service + " ICAP/1.0\r\nHost: " + host +
           "\r\nAllow: 204\r\nConnection: close\r\nEncapsulated: req-hdr=0, req-body=" + std::to_string(encapsulated.size()) +
           "\r\n\r\n" + encapsulated;
}

asio::awaitable<ClamdReply> icap_scan(const config::AntivirusEngine& engine, std::string_view data) {
    using namespace asio::experimental::awaitable_operators;
    try {
        asio::steady_timer timer(co_await asio::this_coro::executor, engine.timeout);
        // Named locals: GCC 12 mishandles temporaries inside co_await expressions.
        asio::awaitable<ClamdReply> call = scan(engine, data);
        asio::awaitable<void> deadline = timer.async_wait(asio::use_awaitable);
        auto race = std::move(call) || std::move(deadline);
        std::variant<ClamdReply, std::monostate> r = co_await std::move(race);
        if (r.index() == 0) co_return std::get<0>(std::move(r));
    } catch (const std::exception& e) {
        co_return failed(std::string("ICAP scan failed: ") + e.what());
    }
    co_return failed("no verdict from the ICAP server within " + std::to_string(engine.timeout.count()) + " ms");
}

}  // namespace rampart::filter
