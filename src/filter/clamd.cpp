// filter/clamd.cpp — the INSTREAM exchange (see clamd.hpp): "zINSTREAM\0", then chunks of
// a 4-byte big-endian length and the data, a zero length to end, then one NUL-terminated
// reply.
#include "filter/clamd.hpp"

#include <array>
#include <string>
#include <variant>

#include <asio/connect.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace rampart::filter {
namespace {

ClamdReply failed(std::string text) { return {ClamdReply::Kind::Error, {}, std::move(text)}; }

std::array<unsigned char, 4> be32(std::size_t n) {
    return {static_cast<unsigned char>(n >> 24), static_cast<unsigned char>(n >> 16),
            static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)};
}

// Reads up to the first NUL, at most kClamdMaxReply + 1 bytes (more is garbage anyway).
template <class Socket>
asio::awaitable<std::string> read_reply(Socket& s) {
    std::string reply;
    std::array<char, 512> buf;
    while (reply.find('\0') == std::string::npos && reply.size() <= kClamdMaxReply) {
        std::error_code ec;
        std::size_t n = co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
        reply.append(buf.data(), n);
        if (ec) break;
    }
    co_return reply;
}

template <class Socket>
asio::awaitable<ClamdReply> exchange(Socket& s, std::string_view data) {
    std::error_code ec;
    static constexpr char kCommand[] = "zINSTREAM";   // with its terminating NUL
    co_await asio::async_write(s, asio::buffer(kCommand, sizeof kCommand), asio::redirect_error(asio::use_awaitable, ec));
    for (std::size_t pos = 0; !ec && pos < data.size(); pos += kClamdChunk) {
        std::string_view chunk = data.substr(pos, kClamdChunk);
        auto len = be32(chunk.size());
        std::array<asio::const_buffer, 2> bufs{asio::buffer(len), asio::buffer(chunk.data(), chunk.size())};
        co_await asio::async_write(s, bufs, asio::redirect_error(asio::use_awaitable, ec));
    }
    if (!ec) {
        auto end = be32(0);
        co_await asio::async_write(s, asio::buffer(end), asio::redirect_error(asio::use_awaitable, ec));
    }
    // After a failed write clamd may still have said why before closing (StreamMaxLength:
    // "INSTREAM size limit exceeded. ERROR"): read what it sent either way.
    std::string reply = co_await read_reply(s);
    if (ec && reply.empty()) co_return failed("sending the message to clamd failed: " + ec.message());
    co_return parse_clamd_reply(reply);
}

asio::awaitable<ClamdReply> scan(const config::Endpoint& address, std::string_view data) {
    auto ex = co_await asio::this_coro::executor;
    std::error_code ec;
    if (address.port == 0) {
        asio::local::stream_protocol::socket s(ex);
        co_await s.async_connect(asio::local::stream_protocol::endpoint(address.host),
                                 asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return failed("cannot connect to clamd at unix:" + address.host + ": " + ec.message());
        co_return co_await exchange(s, data);
    }
    asio::ip::address ip = asio::ip::make_address(address.host, ec);
    if (ec) co_return failed("bad clamd address " + address.host);
    asio::ip::tcp::socket s(ex);
    co_await s.async_connect(asio::ip::tcp::endpoint(ip, address.port), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return failed("cannot connect to clamd at " + address.text() + ": " + ec.message());
    co_return co_await exchange(s, data);
}

}  // namespace

asio::awaitable<ClamdReply> clamd_scan(const config::Endpoint& address, std::string_view data,
                                       std::chrono::milliseconds timeout) {
    using namespace asio::experimental::awaitable_operators;
    try {
        asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
        // Named locals: GCC 12 mishandles temporaries inside co_await expressions.
        asio::awaitable<ClamdReply> call = scan(address, data);
        asio::awaitable<void> deadline = timer.async_wait(asio::use_awaitable);
        auto race = std::move(call) || std::move(deadline);
        std::variant<ClamdReply, std::monostate> r = co_await std::move(race);
        if (r.index() == 0) co_return std::get<0>(std::move(r));
    } catch (const std::exception& e) {
        co_return failed(std::string("clamd scan failed: ") + e.what());
    }
    co_return failed("no verdict from clamd within " + std::to_string(timeout.count()) + " ms");
}

}  // namespace rampart::filter
