// audit/dialogue.cpp — a probe connection with a transcript (see dialogue.hpp).
#include "audit/dialogue.hpp"

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "net/socket_stream.hpp"
#include "smtp/reply_parser.hpp"
#include "util/text.hpp"

namespace rampart::audit {

namespace {

// The delivery client's caps (delivery/client.hpp): a hostile server cannot grow our memory.
constexpr smtp::ReplyParser::Limits kLimits{256, 64 * 1024, 2048};
constexpr std::size_t kMaxDrainReplies = 16;

// "C: " lines for bytes sent: one per CR LF-ended piece, each escaped, so a bare LF or CR
// shows as \n or \r inside its line.
void record_sent(std::vector<std::string>& transcript, std::string_view bytes) {
    while (!bytes.empty()) {
        std::size_t end = bytes.find("\r\n");
        std::string_view piece = bytes.substr(0, end);
        transcript.push_back("C: " + util::display_escape(piece));
        if (end == std::string_view::npos) break;
        bytes.remove_prefix(end + 2);
    }
}

}  // namespace

Dialogue::~Dialogue() {
    if (stream_) stream_->close();
}

asio::awaitable<Result<std::unique_ptr<Dialogue>>> Dialogue::open(asio::any_io_executor ex, const std::string& host,
                                                                   std::uint16_t port, std::chrono::milliseconds timeout) {
    std::error_code ec;
    asio::ip::tcp::resolver resolver(ex);
    auto results = co_await resolver.async_resolve(host, std::to_string(port), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return Error{ec.value(), "resolve " + host + ": " + ec.message()};
    asio::ip::tcp::socket socket(ex);
    asio::steady_timer timer(ex);
    timer.expires_after(timeout);
    bool timed_out = false;
    timer.async_wait([&](const std::error_code& e) {
        if (!e) {
            timed_out = true;
            std::error_code ignored;
            socket.close(ignored);
        }
    });
    co_await asio::async_connect(socket, results, asio::redirect_error(asio::use_awaitable, ec));
    timer.cancel();
    std::string where = host + ":" + std::to_string(port);
    if (ec) co_return Error{ec.value(), "connect " + where + ": " + (timed_out ? std::string("timed out") : ec.message())};
    socket.set_option(asio::ip::tcp::no_delay(true), ec);
    std::unique_ptr<Dialogue> d(new Dialogue());
    auto remote = socket.remote_endpoint(ec);
    d->peer_address_ = ec ? host : remote.address().to_string();
    d->stream_ = std::make_unique<net::TcpStream>(std::move(socket));
    d->timeout_ = timeout;
    d->greeting_ = co_await d->read();
    if (d->greeting_.code == 0) co_return Error{0, where + ": no greeting: " + d->greeting_.failure};
    co_return d;
}

asio::awaitable<bool> Dialogue::send(std::string_view bytes) {
    record_sent(transcript_, bytes);
    if (closed_) co_return false;
    bool ok = co_await stream_->write(bytes, timeout_);
    if (!ok) {
        transcript_.push_back("-- write failed");
        closed_ = true;
    }
    co_return ok;
}

asio::awaitable<Reply> Dialogue::read() {
    Reply reply;
    if (closed_) {
        reply.failure = "connection closed";
        co_return reply;
    }
    smtp::ReplyParser parser(kLimits);
    char buf[4096];
    // The whole reply within the timeout, not each read: a server trickling a byte at a
    // time cannot stretch one reply past it.
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    for (;;) {
        auto status = parser.feed(in_, &reply.lines);
        if (status == smtp::ReplyParser::Status::Done) break;
        if (status != smtp::ReplyParser::Status::NeedMore) {
            reply.failure = status == smtp::ReplyParser::Status::Malformed ? parser.text() : "reply over the size limits";
            reply.lines.clear();
            closed_ = true;
            transcript_.push_back("-- " + util::display_escape(reply.failure));
            co_return reply;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        std::size_t n = left.count() > 0 ? co_await stream_->read_some(asio::buffer(buf), left) : 0;
        if (n == 0) {
            bool timeout = left.count() <= 0 || stream_->end() == net::StreamEnd::Timeout;
            reply.failure = timeout ? "timed out" : "connection closed";
            // A timeout leaves the connection in an unknown state: it is used no more.
            closed_ = true;
            transcript_.push_back("-- " + reply.failure + (reply.lines.empty() ? "" : " in the middle of a reply"));
            reply.lines.clear();
            co_return reply;
        }
        in_.append(buf, n);
    }
    reply.code = parser.code();
    reply.text = parser.text();
    for (const std::string& line : reply.lines) transcript_.push_back("S: " + util::display_escape(line));
    co_return reply;
}

asio::awaitable<Reply> Dialogue::command(std::string_view line) {
    std::string bytes(line);
    bytes += "\r\n";
    if (!co_await send(bytes)) co_return Reply{0, {}, {}, "write failed"};
    co_return co_await read();
}

asio::awaitable<Reply> Dialogue::ehlo(std::string_view name) {
    Reply r = co_await command("EHLO " + std::string(name));
    if (r.code / 100 == 5) r = co_await command("HELO " + std::string(name));
    co_return r;
}

asio::awaitable<std::vector<Reply>> Dialogue::quit_and_drain() {
    std::vector<Reply> before;
    if (!co_await send("QUIT\r\n")) co_return before;
    for (std::size_t n = 0; n < kMaxDrainReplies; ++n) {
        Reply r = co_await read();
        if (r.code == 0 || r.code == 221) break;
        before.push_back(std::move(r));
    }
    closed_ = true;
    co_return before;
}

asio::awaitable<bool> Dialogue::start_tls(asio::ssl::context& ctx, const std::string& sni) {
    if (!in_.empty()) {
        transcript_.push_back("-- dropped " + std::to_string(in_.size()) + " bytes received in clear before the handshake: " +
                              util::display_escape(in_.substr(0, 200)));
        in_.clear();
    }
    if (closed_) co_return false;
    bool ok = co_await stream_->connect_tls(ctx, sni, timeout_);
    if (!ok) {
        transcript_.push_back("-- TLS handshake failed: " + util::display_escape(stream_->tls_error()));
        closed_ = true;
        co_return false;
    }
    transcript_.push_back("-- TLS handshake done: " + stream_->tls_description());
    co_return true;
}

void Dialogue::note(std::string text) { transcript_.push_back("-- " + std::move(text)); }

}  // namespace rampart::audit
