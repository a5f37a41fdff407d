// filter/icap.cpp — the ICAP exchange (see icap.hpp): request head, the message in chunks of
// kIcapChunk bytes, "0" to end; then the reply, read until complete or the connection closes.
#include "filter/icap.hpp"

#include <algorithm>
#include <array>
#include <optional>
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

// The chunks of `data` ("SIZE\r\nDATA\r\n"), then `last` ("0\r\n\r\n" or "0; ieof\r\n\r\n").
template <class Socket>
asio::awaitable<std::error_code> send_chunks(Socket& s, std::string_view data, std::string_view last) {
    std::error_code ec;
    for (std::size_t pos = 0; !ec && pos < data.size(); pos += kIcapChunk) {
        std::string_view chunk = data.substr(pos, kIcapChunk);
        std::string size = hex(chunk.size()) + "\r\n";
        static constexpr char kCrlf[] = "\r\n";
        std::array<asio::const_buffer, 3> bufs{asio::buffer(size), asio::buffer(chunk.data(), chunk.size()), asio::buffer(kCrlf, 2)};
        co_await asio::async_write(s, bufs, asio::redirect_error(asio::use_awaitable, ec));
    }
    if (!ec) co_await asio::async_write(s, asio::buffer(last.data(), last.size()), asio::redirect_error(asio::use_awaitable, ec));
    co_return ec;
}

// Reads one reply into `reader` (until it is complete, or the connection ends); true if any
// byte came.
template <class Socket>
asio::awaitable<bool> read_reply(Socket& s, IcapReplyReader& reader) {
    std::array<char, 16 * 1024> buf;
    bool got_any = false;
    while (reader.state() == IcapReplyReader::State::NeedMore) {
        std::error_code ec;
        std::size_t n = co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
        if (n) got_any = true;
        reader.feed(std::string_view(buf.data(), n));
        if (ec) {
            reader.finish();
            break;
        }
    }
    co_return got_any;
}

// The server's OPTIONS for the service, asked on the scan's own connection (kept alive):
// the preview size it wants, or 0 for none.
template <class Socket>
asio::awaitable<std::variant<std::size_t, ClamdReply>> ask_options(Socket& s, const std::string& host, const std::string& service) {
    std::string request = "OPTIONS icap://" + host + "/" + service + " ICAP/1.0\r\nHost: " + host + "\r\nEncapsulated: null-body=0\r\n\r\n";
    std::error_code ec;
    co_await asio::async_write(s, asio::buffer(request), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return failed("sending OPTIONS to the ICAP server failed: " + ec.message());
    IcapReplyReader reader(0);
    co_await read_reply(s, reader);
    if (reader.state() == IcapReplyReader::State::Error) co_return failed("OPTIONS: " + reader.error());
    const IcapResponse& r = reader.response();
    if (r.status != 200) co_return failed("OPTIONS: ICAP server answered " + std::to_string(r.status) + (r.reason.empty() ? "" : " " + r.reason));
    const std::string* preview = r.header("preview");
    if (!preview) co_return std::size_t{0};
    if (preview->empty() || preview->size() > 7 || preview->find_first_not_of("0123456789") != std::string::npos)
        co_return failed("OPTIONS: bad Preview header \"" + icap_printable(*preview) + "\"");
    co_return static_cast<std::size_t>(std::stoul(*preview));
}

template <class Socket>
asio::awaitable<ClamdReply> exchange(Socket& s, const config::AntivirusEngine& engine, const std::string& host, std::string_view data) {
    std::optional<std::size_t> preview;
    if (engine.preview) {
        std::variant<std::size_t, ClamdReply> options = co_await ask_options(s, host, engine.service);
        if (options.index() == 1) co_return std::get<1>(std::move(options));
        if (std::size_t n = std::get<0>(options); n > 0) preview = std::min(n, data.size());
    }
    std::string head = icap_request_head(host, engine.service, engine.reqmod, data.size(), preview);
    std::error_code ec;
    co_await asio::async_write(s, asio::buffer(head), asio::redirect_error(asio::use_awaitable, ec));
    std::string_view first = preview ? data.substr(0, *preview) : data;
    bool whole = first.size() == data.size();
    if (!ec) ec = co_await send_chunks(s, first, preview && whole ? std::string_view("0; ieof\r\n\r\n") : std::string_view("0\r\n\r\n"));
    // After a failed write the server may still have said why before closing: read either way.
    IcapReplyReader reader(data.size());
    bool got_any = co_await read_reply(s, reader);
    if (reader.state() == IcapReplyReader::State::Done && reader.response().status == 100 && preview && !whole && !ec) {
        // "100 Continue" after the preview: the rest of the message, then the real answer.
        ec = co_await send_chunks(s, data.substr(first.size()), "0\r\n\r\n");
        reader = IcapReplyReader(data.size());
        got_any = co_await read_reply(s, reader);
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
        std::string host = "localhost";
        co_return co_await exchange(s, engine, host, data);
    }
    asio::ip::address ip = asio::ip::make_address(address.host, ec);
    if (ec) co_return failed("bad ICAP server address " + address.host);
    asio::ip::tcp::socket s(ex);
    co_await s.async_connect(asio::ip::tcp::endpoint(ip, address.port), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return failed("cannot connect to the ICAP server at " + address.text() + ": " + ec.message());
    std::string host = address.text();
    co_return co_await exchange(s, engine, host, data);
}

}  // namespace

std::string icap_request_head(const std::string& host, const std::string& service, bool reqmod, std::size_t body_size,
                              std::optional<std::size_t> preview) {
    std::string length = std::to_string(body_size);
    std::string preview_header = preview ? "Preview: " + std::to_string(*preview) + "\r\n" : "";
    std::string encapsulated;
    if (reqmod) {
        encapsulated = "POST /message HTTP/1.1\r\nHost: rampart\r\nContent-Type: message/rfc822\r\nContent-Length: " + length + "\r\n\r\n";
    } else {
        std::string req = "GET /message HTTP/1.1\r\nHost: rampart\r\n\r\n";
        std::string res = "HTTP/1.1 200 OK\r\nContent-Type: message/rfc822\r\nContent-Length: " + length + "\r\n\r\n";
        encapsulated = req + res;
        return "RESPMOD icap://" + host + "/" + service + " ICAP/1.0\r\nHost: " + host +
               "\r\nAllow: 204\r\nConnection: close\r\n" + preview_header + "Encapsulated: req-hdr=0, res-hdr=" + std::to_string(req.size()) +
               ", res-body=" + std::to_string(req.size() + res.size()) + "\r\n\r\n" + encapsulated;
    }
    return "REQMOD icap://" + host + "/" + service + " ICAP/1.0\r\nHost: " + host +
           "\r\nAllow: 204\r\nConnection: close\r\n" + preview_header + "Encapsulated: req-hdr=0, req-body=" + std::to_string(encapsulated.size()) +
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
