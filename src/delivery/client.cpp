// delivery/client.cpp — the delivery side of SMTP.
#include "delivery/client.hpp"

#include <strings.h>

#include <algorithm>

#include <sodium.h>

#include <asio/connect.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "net/socket_stream.hpp"
#include "smtp/data_reader.hpp"
#include "smtp/reply_parser.hpp"

namespace rampart::delivery {

std::string PeerReply::status() const {
    // class "." subject "." detail: 2|4|5 . 1-3 digits . 1-3 digits, then a space or the end.
    std::size_t i = 0;
    auto digits = [&](std::size_t max) {
        std::size_t start = i;
        while (i < text.size() && i - start < max && text[i] >= '0' && text[i] <= '9') ++i;
        return i > start;
    };
    if (text.empty() || (text[0] != '2' && text[0] != '4' && text[0] != '5')) return {};
    i = 1;
    if (i >= text.size() || text[i++] != '.' || !digits(3)) return {};
    if (i >= text.size() || text[i++] != '.' || !digits(3)) return {};
    if (i < text.size() && text[i] != ' ') return {};
    return text.substr(0, i);
}

ClientConnection::~ClientConnection() = default;

std::string ClientConnection::tls() const { return stream_ ? stream_->tls_description() : std::string(); }

std::chrono::milliseconds ClientConnection::bounded(std::chrono::milliseconds timeout) const {
    if (opt_.deadline == Deadline::max()) return timeout;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(opt_.deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::chrono::milliseconds(0);
    return std::min(timeout, left);
}

bool ClientConnection::peer_gone() const { return !stream_ || !in_.empty() || stream_->peer_gone(); }

asio::awaitable<PeerReply> ClientConnection::read_reply(std::chrono::milliseconds timeout, std::vector<std::string>* lines) {
    using SteadyClock = std::chrono::steady_clock;
    // After a limit the connection is done: nothing more is awaited from it.
    if (!limit_.empty()) co_return PeerReply{0, limit_detail_, limit_};
    // The reply's own deadline, and the attempt's: whichever comes first ends the wait.
    Deadline reply_deadline = SteadyClock::now() + timeout;
    auto fail = [this](std::string limit, std::string text) {
        if (limit_.empty()) {
            limit_ = limit;
            limit_detail_ = text;
        }
        return PeerReply{0, std::move(text), std::move(limit)};
    };
    smtp::ReplyParser parser({kMaxReplyLines, kMaxReplyBytes, kMaxReplyLineLength});
    while (true) {
        switch (parser.feed(in_, lines)) {
            case smtp::ReplyParser::Status::NeedMore: break;
            case smtp::ReplyParser::Status::Done: co_return PeerReply{parser.code(), parser.text()};
            case smtp::ReplyParser::Status::Malformed: co_return PeerReply{0, parser.text()};
            case smtp::ReplyParser::Status::LineTooLong:
                co_return fail("reply_line_length", "reply line longer than " + std::to_string(kMaxReplyLineLength) + " bytes");
            case smtp::ReplyParser::Status::TooManyLines:
                co_return fail("reply_lines", "reply of more than " + std::to_string(kMaxReplyLines) + " lines");
            case smtp::ReplyParser::Status::TooManyBytes:
                co_return fail("reply_bytes", "reply of more than " + std::to_string(kMaxReplyBytes) + " bytes");
        }
        auto now = SteadyClock::now();
        bool attempt_first = opt_.deadline < reply_deadline;
        Deadline until = attempt_first ? opt_.deadline : reply_deadline;
        if (now >= until)
            co_return attempt_first ? fail("attempt_timeout", "attempt deadline reached while waiting for a reply")
                                    : fail("reply_timeout", "timeout waiting for the reply");
        char buf[4096];
        std::size_t n = co_await stream_->read_some(asio::buffer(buf),
                                                    std::chrono::ceil<std::chrono::milliseconds>(until - now));
        if (n == 0) {
            if (stream_->end() != net::StreamEnd::Timeout) co_return PeerReply{0, "connection closed"};
            co_return attempt_first ? fail("attempt_timeout", "attempt deadline reached while waiting for a reply")
                                    : fail("reply_timeout", "timeout waiting for the reply");
        }
        in_.append(buf, n);
    }
}

asio::awaitable<bool> ClientConnection::write(std::string_view data, std::chrono::milliseconds timeout) {
    if (!limit_.empty()) co_return false;
    auto t = bounded(timeout);
    if (t.count() > 0 && co_await stream_->write(data, t)) co_return true;
    if (t.count() == 0 || stream_->end() == net::StreamEnd::Timeout) {
        // A peer that does not read what we send holds us as surely as one that does not answer.
        limit_ = t != timeout ? "attempt_timeout" : "write_timeout";
        limit_detail_ = t != timeout ? "attempt deadline reached while sending" : "timeout sending to the peer";
    }
    co_return false;
}

asio::awaitable<bool> ClientConnection::write_data(std::string_view data) {
    constexpr std::size_t kBlock = 64 * 1024;
    for (std::size_t pos = 0; pos < data.size(); pos += kBlock)
        if (!co_await write(data.substr(pos, kBlock), opt_.data_block_timeout)) co_return false;
    co_return true;
}

asio::awaitable<PeerReply> ClientConnection::command(std::string_view line, std::chrono::milliseconds timeout) {
    std::string l(line);
    l += "\r\n";
    if (!co_await write(l, opt_.command_timeout)) co_return PeerReply{0, "connection lost while sending", limit_};
    co_return co_await read_reply(timeout);
}

bool ClientConnection::has(std::string_view ext) const {
    for (const std::string& e : extensions_)
        if (e.size() >= ext.size() && strncasecmp(e.c_str(), ext.data(), ext.size()) == 0 &&
            (e.size() == ext.size() || e[ext.size()] == ' '))
            return true;
    return false;
}

asio::awaitable<bool> ClientConnection::ehlo() {
    extensions_.clear();
    std::string line = (opt_.lmtp ? "LHLO " : "EHLO ") + opt_.helo_name + "\r\n";
    if (!co_await write(line, opt_.command_timeout)) co_return false;
    // Keep the lines separate: extensions are one per line.
    std::vector<std::string> lines;
    PeerReply r = co_await read_reply(opt_.command_timeout, &lines);
    if (r.code == 0) co_return false;
    if (r.code != 250) {
        if (opt_.lmtp) co_return false;   // LMTP has no HELO (RFC 2033 §4.1)
        PeerReply h = co_await command("HELO " + opt_.helo_name);
        co_return h.code == 250;
    }
    for (std::size_t i = 1; i < lines.size(); ++i) {
        std::string e = lines[i].size() > 4 ? lines[i].substr(4) : std::string();
        for (char& c : e) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        extensions_.push_back(e);
        if (e.rfind("SIZE ", 0) == 0) peer_size_limit_ = std::strtoull(e.c_str() + 5, nullptr, 10);
    }
    co_return true;
}

asio::awaitable<Result<Ok>> ClientConnection::connect_stream(asio::any_io_executor ex, const config::Endpoint& peer) {
    std::error_code ec;
    if (!peer.host.empty() && peer.host.front() == '/') {   // unix socket (LMTP)
        asio::local::stream_protocol::socket socket(ex);
        asio::steady_timer timer(ex);
        timer.expires_after(bounded(opt_.connect_timeout));
        timer.async_wait([&](const std::error_code& e) {
            std::error_code ignored;
            if (!e) socket.close(ignored);
        });
        asio::local::stream_protocol::endpoint where(peer.host);
        co_await socket.async_connect(where, asio::redirect_error(asio::use_awaitable, ec));
        timer.cancel();
        if (ec) co_return Error{ec.value(), "connect " + peer_ + ": " + ec.message()};
        stream_ = std::make_unique<net::SocketStream<asio::local::stream_protocol::socket>>(std::move(socket));
        co_return Ok{};
    }
    asio::ip::tcp::resolver resolver(ex);
    auto results = co_await resolver.async_resolve(peer.host, std::to_string(peer.port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return Error{ec.value(), "resolve " + peer.host + ": " + ec.message()};
    asio::ip::tcp::socket socket(ex);
    asio::steady_timer timer(ex);
    timer.expires_after(bounded(opt_.connect_timeout));
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
    if (ec) co_return Error{ec.value(), "connect " + peer_ + ": " + (timed_out ? std::string("timed out") : ec.message())};
    socket.set_option(asio::ip::tcp::no_delay(true), ec);
    stream_ = std::make_unique<net::TcpStream>(std::move(socket));
    co_return Ok{};
}

asio::awaitable<Result<std::unique_ptr<ClientConnection>, OpenError>> ClientConnection::open(asio::any_io_executor ex,
                                                                                               const config::Endpoint& peer,
                                                                                               ClientOptions options) {
    std::unique_ptr<ClientConnection> c(new ClientConnection());
    c->opt_ = std::move(options);
    c->peer_ = peer.text();
    if (auto r = co_await c->connect_stream(ex, peer); !r) co_return OpenError{r.error().code, r.error().message, "4.4.1"};
    PeerReply greeting = co_await c->read_reply(c->opt_.greeting_timeout);
    if (greeting.code != 220) co_return OpenError{0, c->peer_ + " greeting: " + greeting.summary(), "4.4.1", c->limit_};
    if (!co_await c->ehlo())
        co_return OpenError{0, c->peer_ + (c->opt_.lmtp ? ": LHLO failed" : ": EHLO/HELO failed") + c->limit_text(), "4.4.1", c->limit_};
    bool want_tls = c->opt_.tls != config::OutboundTls::None && c->opt_.tls_context;
    bool need_tls = c->opt_.tls == config::OutboundTls::Required || c->opt_.tls == config::OutboundTls::Verify;
    if (want_tls && c->has("STARTTLS")) {
        PeerReply r = co_await c->command("STARTTLS");
        if (r.code == 220) {
            c->in_.clear();
            auto t = c->bounded(c->opt_.command_timeout);
            if (t.count() == 0) co_return OpenError{0, c->peer_ + ": attempt deadline reached before TLS", "4.4.1", "attempt_timeout"};
            if (!co_await c->stream_->connect_tls(*c->opt_.tls_context, c->opt_.tls_name, t))
                co_return OpenError{0, c->peer_ + ": TLS handshake failed: " + c->stream_->tls_error(), "4.7.5"};
            if (!c->opt_.tls_fingerprints.empty()) {   // pinned next hop (the hub's edges)
                auto cert = c->stream_->peer_certificate();
                if (!cert || std::find(c->opt_.tls_fingerprints.begin(), c->opt_.tls_fingerprints.end(), cert->fingerprint) ==
                                 c->opt_.tls_fingerprints.end())
                    co_return OpenError{0, c->peer_ + ": certificate " + (cert ? cert->fingerprint : std::string("(none)")) +
                                               " is not the pinned one", "4.7.5"};
            }
            if (!co_await c->ehlo())
                co_return OpenError{0, c->peer_ + ": EHLO after STARTTLS failed" + c->limit_text(), "4.4.1", c->limit_};
        } else if (r.code == 0) {
            co_return OpenError{0, c->peer_ + ": STARTTLS: " + r.summary(), "4.4.1", c->limit_};
        } else if (need_tls) {
            co_return OpenError{0, c->peer_ + ": STARTTLS refused: " + r.summary(), "4.7.4"};
        }
    } else if (need_tls) {
        co_return OpenError{0, c->peer_ + " does not offer STARTTLS and the connector requires TLS; not sent in clear", "4.7.4"};
    }
    if (auto a = co_await c->authenticate(); !a) co_return a.error();
    co_return c;
}

namespace {

std::string base64(std::string_view in) {
    std::string out(sodium_base64_encoded_len(in.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(in.data()), in.size(),
                      sodium_base64_VARIANT_ORIGINAL);
    out.resize(out.size() - 1);   // the terminating NUL
    return out;
}

}  // namespace

bool ClientConnection::offers_auth(std::string_view mechanism) const {
    for (const std::string& e : extensions_) {
        if (e.rfind("AUTH ", 0) != 0) continue;
        std::size_t pos = 5;
        while (pos < e.size()) {
            std::size_t end = e.find(' ', pos);
            if (end == std::string::npos) end = e.size();
            if (std::string_view(e).substr(pos, end - pos) == mechanism) return true;
            pos = end + 1;
        }
    }
    return false;
}

// RFC 4954. The password never travels without TLS; EXTERNAL (RFC 4422 App. A) asks to act
// as whatever the certificate identifies ("=": empty authorization identity).
asio::awaitable<Result<Ok, OpenError>> ClientConnection::authenticate() {
    if (opt_.auth_user.empty()) {
        if (!opt_.auth_external || !stream_->tls_active() || !offers_auth("EXTERNAL")) co_return Ok{};
        PeerReply r = co_await command("AUTH EXTERNAL =");
        if (r.code != 235) co_return OpenError{0, peer_ + ": AUTH EXTERNAL (client certificate) refused: " + r.summary(), "4.7.0"};
        co_return Ok{};
    }
    if (!stream_->tls_active())
        co_return OpenError{0, peer_ + ": smart-host credentials are sent only over TLS, and TLS is not active", "4.7.4"};
    PeerReply r;
    if (offers_auth("PLAIN")) {
        std::string plain = std::string(1, '\0') + opt_.auth_user + '\0' + opt_.auth_password;
        std::string line = "AUTH PLAIN " + base64(plain);
        sodium_memzero(plain.data(), plain.size());
        r = co_await command(line);
        sodium_memzero(line.data(), line.size());
    } else if (offers_auth("LOGIN")) {
        r = co_await command("AUTH LOGIN");
        if (r.code == 334) r = co_await command(base64(opt_.auth_user));
        if (r.code == 334) {
            std::string line = base64(opt_.auth_password);
            r = co_await command(line);
            sodium_memzero(line.data(), line.size());
        }
    } else {
        co_return OpenError{0, peer_ + " offers neither AUTH PLAIN nor AUTH LOGIN; credentials not sent", "4.7.0"};
    }
    if (r.code != 235) co_return OpenError{0, peer_ + ": authentication as " + opt_.auth_user + " failed: " + r.summary(), "4.7.0"};
    co_return Ok{};
}

asio::awaitable<bool> ClientConnection::send_data_after_354(TransactionResult& res, std::string_view message) {
    std::string stuffed = smtp::dot_stuff(message);   // a named local: GCC 12 and temporaries in co_await
    if (!co_await write_data(stuffed)) {
        res.data = PeerReply{0, "connection lost while sending data", limit_};
        res.limit = limit_;
        co_return false;
    }
    res.data = co_await read_reply(opt_.data_timeout);
    co_await read_lmtp_replies(res);
    co_return true;
}

asio::awaitable<TransactionResult> ClientConnection::send(const queue::Envelope& env, const std::vector<std::size_t>& indices,
                                                          std::string_view message) {
    TransactionResult res;
    if (peer_size_limit_ != 0 && message.size() > peer_size_limit_) {
        res.mail = PeerReply{552, "5.3.4 message larger than the peer's SIZE limit (not sent)"};
        res.connection_usable = true;
        co_return res;
    }
    if (env.smtputf8 && !has("SMTPUTF8")) {
        res.mail = PeerReply{553, "5.6.7 peer does not support SMTPUTF8 (not sent)"};
        res.connection_usable = true;
        co_return res;
    }
    std::string mail = "MAIL FROM:<" + env.sender + ">";
    if (has("SIZE")) mail += " SIZE=" + std::to_string(message.size());
    if (env.body == smtp::Body::EightBitMime && has("8BITMIME")) mail += " BODY=8BITMIME";
    if (env.smtputf8) mail += " SMTPUTF8";
    bool dsn = has("DSN");
    if (dsn && env.ret != smtp::Ret::Unspecified) mail += env.ret == smtp::Ret::Full ? " RET=FULL" : " RET=HDRS";
    if (dsn && !env.envid.empty()) mail += " ENVID=" + env.envid;
    mail += "\r\n";
    std::vector<std::string> rcpts;
    for (std::size_t i : indices) {
        const queue::Recipient& r = env.recipients[i];
        std::string l = "RCPT TO:<" + r.address + ">";
        if (dsn && r.notify != 0) {
            std::string n;
            if (r.notify & smtp::notify::Never) n = "NEVER";
            if (r.notify & smtp::notify::Success) n += "SUCCESS,";
            if (r.notify & smtp::notify::Failure) n += "FAILURE,";
            if (r.notify & smtp::notify::Delay) n += "DELAY,";
            if (!n.empty() && n.back() == ',') n.pop_back();
            l += " NOTIFY=" + n;
        }
        if (dsn && !r.orcpt.empty()) l += " ORCPT=" + r.orcpt;
        rcpts.push_back(l + "\r\n");
    }
    // LMTP: DATA only, so that every reply after the data is unambiguously per recipient.
    bool chunking = has("CHUNKING") && !opt_.lmtp;
    std::string data_cmd = chunking ? "BDAT " + std::to_string(message.size()) + " LAST\r\n" : "DATA\r\n";
    if (has("PIPELINING")) {
        std::string batch = mail;
        for (const std::string& r : rcpts) batch += r;
        batch += data_cmd;
        if (chunking) batch.append(message);
        // (no co_await on a ?: of two awaitables: GCC 12 destroys the temporary twice)
        bool sent = false;
        if (chunking) sent = co_await write_data(batch);
        else sent = co_await write(batch, opt_.command_timeout);
        if (!sent) {
            res.mail = PeerReply{0, "connection lost while sending", limit_};
            res.limit = limit_;
            co_return res;
        }
        res.mail = co_await read_reply(opt_.command_timeout);
        for (std::size_t i = 0; i < rcpts.size(); ++i) res.rcpt.push_back(co_await read_reply(opt_.command_timeout));
        PeerReply d = co_await read_reply(chunking ? opt_.data_timeout : opt_.data_init_timeout);
        if (chunking) {
            res.data = d;
        } else if (d.code == 354) {
            if (!co_await send_data_after_354(res, message)) co_return res;
        } else {
            res.data = d;
        }
    } else {
        res.mail = co_await command(std::string_view(mail).substr(0, mail.size() - 2));
        if (!res.mail.positive()) {
            res.connection_usable = res.mail.code != 0 && (co_await command("RSET")).code == 250;
            res.limit = limit_;
            co_return res;
        }
        bool any = false;
        for (const std::string& r : rcpts) {
            res.rcpt.push_back(co_await command(std::string_view(r).substr(0, r.size() - 2)));
            any = any || res.rcpt.back().positive();
        }
        if (!any) {
            res.connection_usable = (co_await command("RSET")).code == 250;
            res.limit = limit_;
            co_return res;
        }
        if (chunking) {
            std::string chunk = data_cmd;
            chunk.append(message);
            if (!co_await write_data(chunk)) {
                res.data = PeerReply{0, "connection lost while sending data", limit_};
                res.limit = limit_;
                co_return res;
            }
            res.data = co_await read_reply(opt_.data_timeout);
        } else {
            PeerReply d = co_await command("DATA", opt_.data_init_timeout);
            if (d.code != 354) res.data = d;
            else if (!co_await send_data_after_354(res, message)) co_return res;
        }
    }
    res.connection_usable = res.mail.code != 0 && res.data.code != 0 && res.data.code != 421;
    for (const PeerReply& r : res.lmtp_data) res.connection_usable = res.connection_usable && r.code != 0 && r.code != 421;
    if (res.connection_usable && !res.data.positive()) {
        res.connection_usable = (co_await command("RSET")).code == 250;
    }
    res.limit = limit_;
    res.connection_usable = res.connection_usable && limit_.empty();
    co_return res;
}

asio::awaitable<void> ClientConnection::read_lmtp_replies(TransactionResult& res) {
    std::size_t accepted = 0;
    for (const PeerReply& r : res.rcpt) accepted += r.positive() ? 1 : 0;
    if (!opt_.lmtp || accepted == 0 || res.data.code == 0) co_return;
    res.lmtp_data.push_back(res.data);
    while (res.lmtp_data.size() < accepted) {
        res.lmtp_data.push_back(co_await read_reply(opt_.data_timeout));
        if (res.lmtp_data.back().code == 0) break;   // connection lost: the rest stay unanswered
    }
}

asio::awaitable<void> ClientConnection::quit() {
    if (!stream_) co_return;
    if (limit_.empty()) co_await command("QUIT");
    co_await stream_->finish();
}

}  // namespace rampart::delivery
