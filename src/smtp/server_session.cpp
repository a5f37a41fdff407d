// smtp/server_session.cpp — the SMTP server state machine.
// Trust: bytes from the peer. Contracts kept here (DESIGN.md §8):
//  - only CRLF ends a command line and only <CRLF>.<CRLF> ends DATA; a bare CR or LF is
//    refused, never taken as a line end;
//  - input pipelined behind STARTTLS is discarded before the handshake;
//  - 250 after the data only once Spool::commit() reported the message durable;
//  - every read has a deadline and every loop a bound (max_errors, sizes, timeouts).
#include "smtp/server_session.hpp"

#include <strings.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <optional>

#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <sodium.h>

#include "auth/verifier.hpp"
#include "auth/gssapi.hpp"
#include "auth/kerberos_map.hpp"
#include "auth/external.hpp"
#include "auth/password.hpp"
#include "delivery/local.hpp"
#include "directory/directory.hpp"
#include "net/stream.hpp"
#include "policy/access.hpp"
#include "policy/brakes.hpp"
#include "queue/spool.hpp"
#include "smtp/command_parser.hpp"
#include "smtp/data_reader.hpp"
#include "smtp/reply.hpp"
#include "util/log.hpp"

namespace rampart::smtp {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Reads are small while waiting for commands (an idle session holds little memory) and
// large while message data streams in.
constexpr std::size_t kCommandChunk = 4 * 1024;
constexpr std::size_t kDataChunk = 64 * 1024;
constexpr milliseconds kWriteTimeout{std::chrono::minutes(2)};
constexpr milliseconds kTlsHandshakeTimeout{std::chrono::seconds(60)};
// After a fatal refusal the peer may still be sending; read and drop this much at most
// so that closing does not reset the connection before the peer reads our reply.
constexpr std::size_t kDrainLimit = 1 << 20;
constexpr milliseconds kDrainTimeout{std::chrono::seconds(2)};
constexpr std::size_t kSaslLineMax = 12288;   // RFC 4954 §4: AUTH command and SASL responses

enum class LineStatus { Ok, TooLong, BareLineEnd, Closed };

std::string rfc5322_date(std::time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    return buf;
}

// RFC 4648 base64 as SASL uses it (RFC 4954 §4); nullopt if malformed.
std::optional<std::string> decode_base64(std::string_view in) {
    std::string out(in.size(), '\0');
    std::size_t len = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), in.data(), in.size(), nullptr, &len,
                          nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
        return std::nullopt;
    out.resize(len);
    return out;
}

std::string encode_base64(std::string_view in) {
    std::string out(sodium_base64_ENCODED_LEN(in.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(in.data()), in.size(),
                      sodium_base64_VARIANT_ORIGINAL);
    out.resize(std::strlen(out.c_str()));
    return out;
}

std::string join(const std::vector<queue::Recipient>& rcpts) {
    std::string out;
    for (const auto& r : rcpts) {
        if (!out.empty()) out += ',';
        out += r.address;
    }
    return out;
}

class Session {
public:
    Session(net::Stream& stream, const config::Listener& listener, ClientInfo client, SessionServices& svc)
        : s_(stream), l_(listener), svc_(svc), client_(client), started_(Clock::now()) {
        facts_.listener = &listener;
        facts_.domains = &svc.config->domains;
        facts_.connectors = &svc.config->send_connectors;
        facts_.client = client.address;
    }

    asio::awaitable<void> run();

private:
    // ---- I/O ----
    void reply(const Reply& r) {
        out_ += r.wire();
        if (r.permanent() && r.code != 554 && r.code != 521) ++errors_;
    }
    asio::awaitable<bool> flush();
    asio::awaitable<bool> fill(milliseconds timeout, std::size_t chunk = kCommandChunk);
    asio::awaitable<LineStatus> read_line(std::string& line, std::size_t max = 0);   // 0: max_command_length
    asio::awaitable<void> close_after_fatal(const Reply& r);
    void compact();

    // ---- commands ----
    asio::awaitable<void> dispatch(Command& cmd);
    void on_ehlo(const Command& cmd);
    void on_mail(Command& cmd);
    void on_rcpt(Command& cmd);
    asio::awaitable<void> on_data();
    asio::awaitable<void> on_bdat(const Command& cmd);
    asio::awaitable<void> on_starttls();
    asio::awaitable<void> on_auth(const Command& cmd);
    bool basic_usable() const;
    bool gssapi_usable() const;
    asio::awaitable<void> on_auth_gssapi(const std::string& initial);
    asio::awaitable<void> on_auth_external(const std::string& initial);
    bool external_usable() const;
    asio::ssl::context* tls_context() const {
        return l_.auth.server && svc_.tls_client_auth ? svc_.tls_client_auth : svc_.tls;
    }
    asio::awaitable<std::optional<std::string>> sasl_read(const std::string& challenge);
    asio::awaitable<std::optional<std::string>> first_response(const std::string& initial);
    // The one place every SASL mechanism reports to (brakes on stolen logins, logging):
    // auth_blocked before checking credentials (user "" if not known yet), then exactly
    // one of auth_failed / auth_succeeded, which also send the reply.
    struct AuthNote {
        std::string user;          // the login name given (PLAIN/LOGIN user, Kerberos principal); "" if none
        std::string principal;     // the identity it mapped to, if known
        std::string reason;        // why it failed, or how it was mapped
        std::string fingerprint;   // EXTERNAL: the client certificate's SHA-256
    };
    bool auth_blocked(std::string_view mech, const std::string& user);
    asio::awaitable<void> auth_failed(std::string_view mech, AuthNote note);
    void auth_succeeded(std::string_view mech, policy::Principal principal, AuthNote note);
    // Hourly limits of an authenticated user: the refusal if `messages`/`recipients` more
    // would exceed them (and logs it), else nullopt.
    std::optional<Reply> braked(std::uint32_t messages, std::uint32_t recipients);
    asio::awaitable<void> finish_message(std::string_view message);

    // ---- transaction ----
    void reset_transaction(std::string_view why);
    void log_transaction(std::string_view result, const Reply& r, std::uint64_t size);
    std::string received_header(const std::string& id) const;
    std::string protocol() const;

    net::Stream& s_;
    const config::Listener& l_;
    SessionServices& svc_;
    ClientInfo client_;
    policy::SessionFacts facts_;
    Clock::time_point started_;

    std::string in_;
    std::size_t in_pos_ = 0;
    std::string out_;

    std::string helo_;
    bool esmtp_ = false;
    bool quit_ = false;
    unsigned errors_ = 0;

    // transaction
    bool in_mail_ = false;
    Path sender_;
    MailParams mail_;
    std::vector<queue::Recipient> rcpts_;
    unsigned refused_rcpts_ = 0;
    std::string last_refusal_;
    bool bdat_started_ = false;
    bool bdat_too_big_ = false;
    std::string bdat_buf_;
    Clock::time_point txn_started_;
};

asio::awaitable<bool> Session::flush() {
    if (out_.empty()) co_return true;
    bool ok = co_await s_.write(out_, kWriteTimeout);
    out_.clear();
    co_return ok;
}

void Session::compact() {
    if (in_pos_ == 0) return;
    if (in_pos_ >= in_.size()) {
        in_.clear();
    } else {
        in_.erase(0, in_pos_);
    }
    in_pos_ = 0;
}

// Flushes pending replies (we are about to wait for the peer), then reads more input.
asio::awaitable<bool> Session::fill(milliseconds timeout, std::size_t chunk) {
    if (!co_await flush()) co_return false;
    compact();
    if (chunk == kCommandChunk && in_.empty() && in_.capacity() > kDataChunk) in_.shrink_to_fit();
    std::size_t old = in_.size();
    in_.resize(old + chunk);
    std::size_t n = co_await s_.read_some(asio::buffer(in_.data() + old, chunk), timeout);
    in_.resize(old + n);
    co_return n > 0;
}

asio::awaitable<LineStatus> Session::read_line(std::string& line, std::size_t max) {
    if (max == 0) max = l_.limits.max_command_length;
    std::size_t checked = 0;  // bytes after in_pos_ already known to hold no LF
    bool discarding = false;
    while (true) {
        std::size_t nl = in_.find('\n', in_pos_ + checked);
        if (nl != std::string::npos) {
            std::string_view raw(in_.data() + in_pos_, nl - in_pos_);
            in_pos_ = nl + 1;
            if (discarding) co_return LineStatus::TooLong;
            if (raw.empty() || raw.back() != '\r') co_return LineStatus::BareLineEnd;
            raw.remove_suffix(1);
            if (raw.find('\r') != std::string_view::npos) co_return LineStatus::BareLineEnd;
            if (raw.size() + 2 > max) co_return LineStatus::TooLong;
            line.assign(raw);
            co_return LineStatus::Ok;
        }
        checked = in_.size() - in_pos_;
        if (checked > max) {
            // Over-long line: drop what we have and keep dropping until its LF.
            discarding = true;
            in_pos_ = in_.size();
            checked = 0;
        }
        if (!co_await fill(l_.limits.command_timeout)) co_return LineStatus::Closed;
    }
}

asio::awaitable<void> Session::close_after_fatal(const Reply& r) {
    reply(r);
    co_await flush();
    // Half-close and drain so the peer reads the reply instead of a reset.
    co_await s_.shutdown_send();
    std::size_t drained = 0;
    char buf[16384];
    auto deadline = Clock::now() + kDrainTimeout;
    while (drained < kDrainLimit && Clock::now() < deadline) {
        auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        std::size_t n = co_await s_.read_some(asio::buffer(buf), std::max(left, milliseconds(1)));
        if (n == 0) break;
        drained += n;
    }
    quit_ = true;
}

asio::awaitable<void> Session::run() {
    const std::string& host = svc_.config->server.hostname;
    if (l_.tls == config::TlsMode::Implicit) {
        if (!svc_.tls || !co_await s_.accept_tls(*tls_context(), kTlsHandshakeTimeout)) {
            log::info("smtp.tls.failed", {{"listener", l_.name}, {"client", client_.address.text()}, {"error", s_.tls_error()}});
            s_.close();
            co_return;
        }
        facts_.tls = true;
    }
    policy::Decision conn = policy::check_connection(facts_);
    if (conn.verdict == policy::Verdict::Refuse) {
        log::info("smtp.connection.refused", {{"listener", l_.name}, {"client", client_.address.text()},
                                              {"rule", conn.rule}, {"code", conn.reply.code}, {"reason", conn.reply.text}});
        co_await close_after_fatal(conn.reply);
        co_await s_.finish();
        co_return;
    }
    log::event(log::Level::Debug, "smtp.connect", {{"listener", l_.name}, {"client", client_.address.text()}});
    reply(Reply(220, "", host + " ESMTP rampart"));
    std::string line;
    while (!quit_) {
        // RFC 4954 §4: AUTH lines may be 12288 octets; Kerberos tickets (with an AD PAC)
        // need them. Only AUTH gets the longer limit.
        std::size_t limit = gssapi_usable() ? std::max<std::size_t>(l_.limits.max_command_length, kSaslLineMax) : 0;
        LineStatus st = co_await read_line(line, limit);
        if (st == LineStatus::Ok && line.size() + 2 > l_.limits.max_command_length &&
            !(line.size() > 5 && strncasecmp(line.c_str(), "AUTH ", 5) == 0))
            st = LineStatus::TooLong;
        if (st == LineStatus::Closed) {
            if (s_.end() == net::StreamEnd::Timeout) {
                reply(Reply(421, "4.4.2", host + " timeout waiting for a command; closing"));
                co_await flush();
            }
            reset_transaction(s_.end() == net::StreamEnd::Timeout ? "timeout" : "disconnected");
            break;
        }
        if (st == LineStatus::TooLong) {
            reply(Reply(500, "5.5.6", "line too long"));
        } else if (st == LineStatus::BareLineEnd) {
            reply(Reply(500, "5.5.2", "bare CR or LF in command; lines must end with CRLF"));
        } else {
            Command cmd = parse_command(line, mail_.smtputf8);
            if (cmd.error) {
                reply(*cmd.error);
                if (cmd.verb == Verb::Bdat) {
                    // The chunk length is unknown: the rest of the stream cannot be trusted.
                    co_await close_after_fatal(Reply(421, "4.5.0", "bad BDAT command; closing"));
                    break;
                }
            } else {
                co_await dispatch(cmd);
            }
        }
        if (!quit_ && errors_ >= l_.limits.max_errors) {
            reset_transaction("too many errors");
            co_await close_after_fatal(Reply(421, "4.7.0", host + " too many errors; closing"));
            break;
        }
    }
    co_await flush();
    co_await s_.finish();
}

asio::awaitable<void> Session::dispatch(Command& cmd) {
    switch (cmd.verb) {
        case Verb::Helo:
        case Verb::Ehlo: on_ehlo(cmd); break;
        case Verb::Mail: on_mail(cmd); break;
        case Verb::Rcpt: on_rcpt(cmd); break;
        case Verb::Data: co_await on_data(); break;
        case Verb::Bdat: co_await on_bdat(cmd); break;
        case Verb::Rset:
            reset_transaction("RSET");
            reply(Reply(250, "2.0.0", "ok"));
            break;
        case Verb::Noop: reply(Reply(250, "2.0.0", "ok")); break;
        case Verb::Quit:
            reset_transaction("QUIT");
            reply(Reply(221, "2.0.0", svc_.config->server.hostname + " closing connection"));
            quit_ = true;
            break;
        case Verb::Vrfy:
            // RFC 5321 §3.5.3: 252 neither confirms nor denies; no address is disclosed.
            reply(Reply(252, "2.5.0", "cannot verify the user; send a message and delivery will be attempted"));
            break;
        case Verb::Expn: reply(Reply(502, "5.5.1", "EXPN is not available")); break;
        case Verb::Help:
            reply(Reply(214, "2.0.0", "commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS\nsee RFC 5321"));
            break;
        case Verb::StartTls: co_await on_starttls(); break;
        case Verb::Auth: co_await on_auth(cmd); break;
        case Verb::Unknown: reply(Reply(500, "5.5.2", "command not recognized")); break;
    }
}

void Session::on_ehlo(const Command& cmd) {
    reset_transaction("EHLO");
    helo_ = cmd.argument;
    esmtp_ = cmd.verb == Verb::Ehlo;
    const std::string& host = svc_.config->server.hostname;
    if (!esmtp_) {
        reply(Reply(250, "", host));
        return;
    }
    std::string text = host + " greets " + helo_;
    text += "\nPIPELINING";
    text += "\nSIZE " + std::to_string(l_.limits.max_message_size);
    text += "\n8BITMIME";
    text += "\nENHANCEDSTATUSCODES";
    text += "\nSMTPUTF8";
    text += "\nCHUNKING";
    text += "\nDSN";
    if (svc_.tls && l_.tls == config::TlsMode::StartTls && !s_.tls_active()) text += "\nSTARTTLS";
    std::string mechanisms;
    if (gssapi_usable()) mechanisms += " GSSAPI";
    if (external_usable()) mechanisms += " EXTERNAL";
    if (basic_usable()) mechanisms += " PLAIN LOGIN";
    if (!mechanisms.empty()) text += "\nAUTH" + mechanisms;
    reply(Reply(250, "", text));
}

void Session::on_mail(Command& cmd) {
    if (helo_.empty()) return reply(Reply(503, "5.5.1", "send EHLO or HELO first"));
    if (in_mail_) return reply(Reply(503, "5.5.1", "nested MAIL command"));
    if (!esmtp_ && (cmd.mail.size || cmd.mail.body != Body::Unspecified || cmd.mail.smtputf8 ||
                    cmd.mail.ret != Ret::Unspecified || !cmd.mail.envid.empty()))
        return reply(Reply(555, "5.5.4", "MAIL parameters need EHLO"));
    if (cmd.mail.size && *cmd.mail.size > l_.limits.max_message_size)
        return reply(Reply(552, "5.3.4", "message size exceeds the limit of " + std::to_string(l_.limits.max_message_size) + " bytes"));
    if (svc_.directory) facts_.directory = svc_.directory->get();   // one snapshot per transaction
    policy::Decision d = policy::check_mail(facts_, cmd.path);
    if (d.verdict == policy::Verdict::Refuse) {
        log::info("smtp.mail.refused", {{"listener", l_.name}, {"client", client_.address.text()}, {"from", cmd.path.text()},
                                        {"rule", d.rule}, {"code", d.reply.code}, {"reason", d.reply.text}});
        return reply(d.reply);
    }
    if (auto r = braked(1, 0)) return reply(*r);
    in_mail_ = true;
    sender_ = std::move(cmd.path);
    mail_ = std::move(cmd.mail);
    txn_started_ = Clock::now();
    reply(Reply(250, "2.1.0", "sender ok"));
}

void Session::on_rcpt(Command& cmd) {
    if (!in_mail_) return reply(Reply(503, "5.5.1", "need MAIL command first"));
    if (bdat_started_) return reply(Reply(503, "5.5.1", "RCPT after BDAT is not allowed"));
    if (rcpts_.size() >= l_.limits.max_recipients)
        return reply(Reply(452, "4.5.3", "too many recipients"));
    if (!esmtp_ && (cmd.rcpt.notify != 0 || !cmd.rcpt.orcpt.empty()))
        return reply(Reply(555, "5.5.4", "RCPT parameters need EHLO"));
    policy::Decision d = policy::check_rcpt(facts_, sender_, cmd.path);
    if (d.verdict != policy::Verdict::Accept) {
        ++refused_rcpts_;
        last_refusal_ = d.reply.summary();
        log::info("smtp.rcpt.refused", {{"listener", l_.name}, {"client", client_.address.text()}, {"from", sender_.text()},
                                        {"to", cmd.path.text()}, {"rule", d.rule}, {"code", d.reply.code}, {"reason", d.reply.text}});
        return reply(d.reply);
    }
    if (auto r = braked(0, static_cast<std::uint32_t>(rcpts_.size() + 1))) {
        ++refused_rcpts_;
        last_refusal_ = r->summary();
        return reply(*r);
    }
    rcpts_.push_back(queue::Recipient{cmd.path.text(), cmd.rcpt.notify, cmd.rcpt.orcpt, false, {}, {}});
    reply(d.reply);
}

asio::awaitable<void> Session::on_data() {
    if (!in_mail_) co_return reply(Reply(503, "5.5.1", "need MAIL command first"));
    if (bdat_started_) co_return reply(Reply(503, "5.5.1", "DATA after BDAT is not allowed"));
    if (rcpts_.empty()) co_return reply(Reply(554, "5.5.1", "no valid recipients"));
    reply(Reply(354, "", "end data with <CR><LF>.<CR><LF>"));
    DataReader reader(l_.limits.max_message_size, l_.limits.max_line_length);
    std::string message;
    auto deadline = Clock::now() + l_.limits.data_timeout;
    while (true) {
        std::size_t used = 0;
        DataReader::Status st = reader.feed(std::string_view(in_).substr(in_pos_), used, message);
        in_pos_ += used;
        if (st == DataReader::Status::Done) break;
        if (st == DataReader::Status::BareLineEnd) {
            Reply r(521, "5.5.2", std::string("bare ") + (reader.bare_cr() ? "CR" : "LF") +
                                      " in message data; only <CRLF>.<CRLF> ends data (RFC 5321 §2.3.8); closing");
            log_transaction("refused", r, reader.size());
            reset_transaction("");
            co_await close_after_fatal(r);
            co_return;
        }
        auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        if (left <= milliseconds(0) || !co_await fill(std::min(left, l_.limits.command_timeout), kDataChunk)) {
            Reply r(421, "4.4.2", "data not received in time; closing");
            if (s_.end() == net::StreamEnd::Timeout || left <= milliseconds(0)) {
                reply(r);
                co_await flush();
            }
            bool timeout = s_.end() == net::StreamEnd::Timeout || left <= milliseconds(0);
            log_transaction("aborted", timeout ? r : Reply(421, "4.4.2", "connection lost during DATA"), reader.size());
            reset_transaction("");
            quit_ = true;
            co_return;
        }
    }
    Reply refusal;
    if (reader.too_big())
        refusal = Reply(552, "5.3.4", "message exceeds the size limit of " + std::to_string(l_.limits.max_message_size) + " bytes");
    else if (reader.line_too_long())
        refusal = Reply(554, "5.6.0", "message has a line longer than " + std::to_string(l_.limits.max_line_length) + " characters");
    else if (reader.has_nul())
        refusal = Reply(554, "5.6.0", "message contains NUL characters");
    if (!refusal.empty()) {
        log_transaction("refused", refusal, reader.size());
        reset_transaction("");
        co_return reply(refusal);
    }
    co_await finish_message(message);
}

asio::awaitable<void> Session::on_bdat(const Command& cmd) {
    // The chunk is read whatever happens, so the stream stays in step (RFC 3030 §2).
    bool usable = in_mail_ && !rcpts_.empty();
    std::uint64_t need = cmd.chunk_size;
    auto deadline = Clock::now() + l_.limits.data_timeout;
    while (need > 0) {
        std::size_t avail = in_.size() - in_pos_;
        if (avail == 0) {
            auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
            if (left <= milliseconds(0) || !co_await fill(std::min(left, l_.limits.command_timeout), kDataChunk)) {
                log_transaction("aborted", Reply(421, "4.4.2", "connection lost during BDAT"), bdat_buf_.size());
                reset_transaction("");
                quit_ = true;
                co_return;
            }
            continue;
        }
        std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(avail, need));
        if (usable && !bdat_too_big_) {
            if (bdat_buf_.size() + take > l_.limits.max_message_size) {
                bdat_too_big_ = true;
                bdat_buf_.clear();
                bdat_buf_.shrink_to_fit();
            } else {
                bdat_buf_.append(in_, in_pos_, take);
            }
        }
        in_pos_ += take;
        need -= take;
    }
    if (!in_mail_) co_return reply(Reply(503, "5.5.1", "need MAIL command first"));
    if (rcpts_.empty()) co_return reply(Reply(554, "5.5.1", "no valid recipients"));
    bdat_started_ = true;
    if (!cmd.last_chunk) {
        co_return reply(Reply(250, "2.0.0", std::to_string(cmd.chunk_size) + " octets received"));
    }
    Reply refusal;
    if (bdat_too_big_) {
        refusal = Reply(552, "5.3.4", "message exceeds the size limit of " + std::to_string(l_.limits.max_message_size) + " bytes");
    } else {
        LineFacts f = check_lines(bdat_buf_, l_.limits.max_line_length);
        if (f.bare_line_end) refusal = Reply(554, "5.6.0", "bare CR or LF in message data; lines must end with CRLF");
        else if (f.long_line)
            refusal = Reply(554, "5.6.0", "message has a line longer than " + std::to_string(l_.limits.max_line_length) + " characters");
        else if (f.nul) refusal = Reply(554, "5.6.0", "message contains NUL characters");
    }
    if (!refusal.empty()) {
        log_transaction("refused", refusal, bdat_buf_.size());
        reset_transaction("");
        co_return reply(refusal);
    }
    std::string message = std::move(bdat_buf_);
    co_await finish_message(message);
}

asio::awaitable<void> Session::finish_message(std::string_view message) {
    std::size_t hops = count_received_headers(message);
    if (hops >= l_.limits.max_received_headers) {
        Reply r(554, "5.4.6", "too many hops (" + std::to_string(hops) + " Received headers): mail loop");
        log_transaction("refused", r, message.size());
        reset_transaction("");
        co_return reply(r);
    }
    queue::Envelope env;
    env.id = queue::new_queue_id();
    env.received_at = std::time(nullptr);
    env.listener = l_.name;
    env.client = client_.address.text();
    env.helo = helo_;
    env.tls = s_.tls_description();
    env.sender = sender_.text();
    env.body = mail_.body;
    env.smtputf8 = mail_.smtputf8;
    env.ret = mail_.ret;
    env.envid = mail_.envid;
    // Aliases expand here, so each final recipient has its own durable state and DSN.
    env.recipients = facts_.directory ? delivery::expand_recipients(*facts_.directory, svc_.config->domains, rcpts_) : rcpts_;
    std::string head = received_header(env.id);
    auto id = co_await svc_.spool->commit(env, head, message);
    if (!id) {
        log::error("spool.commit.failed", {{"listener", l_.name}, {"client", client_.address.text()}, {"error", id.error().message}});
        Reply r(452, "4.3.1", "insufficient system storage; try again later");
        log_transaction("deferred", r, message.size());
        reset_transaction("");
        co_return reply(r);
    }
    env.id = *id;
    env.size = head.size() + message.size();
    if (svc_.brakes && facts_.principal.kind == policy::Principal::Kind::User)
        svc_.brakes->count(facts_.principal.text(), 1, static_cast<std::uint32_t>(rcpts_.size()));
    Reply ok(250, "2.0.0", "Ok: queued as " + env.id);
    log_transaction("accepted", ok, env.size);
    reset_transaction("");
    if (svc_.queued) svc_.queued(env);
    reply(ok);
}

bool Session::basic_usable() const {
    return l_.auth.basic && svc_.directory && (s_.tls_active() || !l_.auth.basic_requires_tls);
}

// One SASL continuation: sends "334 challenge", returns the decoded answer, or nullopt
// after replying to a cancel ("*"), a bad base64 line or a closed connection.
asio::awaitable<std::optional<std::string>> Session::sasl_read(const std::string& challenge) {
    reply(Reply(334, "", challenge));
    std::string line;
    LineStatus st = co_await read_line(line, std::max<std::size_t>(l_.limits.max_command_length, kSaslLineMax));
    if (st == LineStatus::Closed) {
        quit_ = true;
        co_return std::nullopt;
    }
    if (st != LineStatus::Ok) {
        reply(Reply(500, "5.5.6", "bad SASL response line"));
        co_return std::nullopt;
    }
    if (line == "*") {
        reply(Reply(501, "5.0.0", "authentication cancelled"));
        co_return std::nullopt;
    }
    auto out = decode_base64(line);
    if (!out) reply(Reply(501, "5.5.2", "SASL response is not valid base64"));
    co_return out;
}

// The first SASL response (RFC 4954 §4): the initial response on the AUTH line ("=" is an
// empty one), or, without one, the answer to an empty 334. nullopt: already answered.
asio::awaitable<std::optional<std::string>> Session::first_response(const std::string& initial) {
    if (initial.empty()) co_return co_await sasl_read("");
    if (initial == "=") co_return std::string();
    std::optional<std::string> out = decode_base64(initial);
    if (!out) reply(Reply(501, "5.5.2", "SASL response is not valid base64"));
    co_return out;
}

asio::awaitable<void> Session::on_auth(const Command& cmd) {
    if (helo_.empty() || !esmtp_) co_return reply(Reply(503, "5.5.1", "send EHLO first"));
    if (!facts_.principal.anonymous()) co_return reply(Reply(503, "5.5.1", "already authenticated"));
    if (in_mail_) co_return reply(Reply(503, "5.5.1", "AUTH is not allowed during a transaction"));
    std::string mech = cmd.argument.substr(0, cmd.argument.find(' '));
    std::string initial = cmd.argument.size() > mech.size() ? cmd.argument.substr(mech.size() + 1) : std::string();
    for (char& c : mech) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (mech == "GSSAPI") co_return co_await on_auth_gssapi(initial);
    if (mech == "EXTERNAL") co_return co_await on_auth_external(initial);
    if (mech != "PLAIN" && mech != "LOGIN") co_return reply(Reply(504, "5.5.4", "unrecognized authentication mechanism"));
    if (!l_.auth.basic || !svc_.directory) co_return reply(Reply(504, "5.5.4", "authentication mechanism not offered on this listener"));
    if (!basic_usable()) co_return reply(Reply(538, "5.7.11", "encryption required for the requested authentication mechanism"));
    if (auth_blocked(mech, "")) co_return;
    std::string user, password;
    if (mech == "PLAIN") {
        std::optional<std::string> resp = co_await first_response(initial);
        if (!resp) co_return;
        // RFC 4616: authzid NUL authcid NUL passwd
        std::size_t a = resp->find('\0');
        std::size_t b = a == std::string::npos ? a : resp->find('\0', a + 1);
        if (b == std::string::npos) co_return reply(Reply(501, "5.5.2", "malformed PLAIN response"));
        std::string authzid = resp->substr(0, a);
        user = resp->substr(a + 1, b - a - 1);
        password = resp->substr(b + 1);
        sodium_memzero(resp->data(), resp->size());
        if (!authzid.empty() && authzid != user) {
            sodium_memzero(password.data(), password.size());
            AuthNote note{user, "", "authorization identity differs from the user", ""};   // named: GCC 12 mishandles temporaries in co_await
            co_return co_await auth_failed(mech, std::move(note));
        }
    } else {
        std::optional<std::string> u;
        if (!initial.empty()) {
            u = decode_base64(initial);
            if (!u) co_return reply(Reply(501, "5.5.2", "SASL response is not valid base64"));
        } else {
            u = co_await sasl_read("VXNlcm5hbWU6");  // "Username:"
        }
        if (!u) co_return;
        auto p = co_await sasl_read("UGFzc3dvcmQ6");      // "Password:"
        if (!p) co_return;
        user = *u;
        password = *p;
    }
    if (auth_blocked(mech, user)) {
        sodium_memzero(password.data(), password.size());
        co_return;
    }
    std::shared_ptr<const directory::Directory> dir = svc_.directory->get();
    const directory::User* u = dir->user(user);
    static const auth::HashVerifier kHashes;
    const auth::PasswordVerifier& verifier = svc_.verifier ? *svc_.verifier : kHashes;
    auth::Check check = co_await verifier.verify(u, std::move(password));
    if (check == auth::Check::Unavailable) {  // RFC 4954 §6: the directory did not answer
        log::info("smtp.auth", {{"listener", l_.name}, {"client", client_.address.text()}, {"mechanism", mech},
                                {"user", user}, {"result", "unavailable"}});
        co_return reply(Reply(454, "4.7.0", "temporary authentication failure"));
    }
    if (check != auth::Check::Valid || !u) {
        AuthNote note{user, "", "", ""};   // named: GCC 12 mishandles temporaries in co_await
        co_return co_await auth_failed(mech, std::move(note));
    }
    auth_succeeded(mech, policy::Principal{policy::Principal::Kind::User, u->name, dir->groups_of(u->name), u->addresses,
                                           u->send_as_any},
                   {user, "", "", ""});
}

// GSSAPI needs no TLS: no password crosses the wire (DESIGN.md §3).
bool Session::gssapi_usable() const {
    return l_.auth.integrated && svc_.directory && !svc_.config->kerberos.keytab.empty();
}

// SASL GSSAPI (RFC 4752 §3.1): context tokens in 334 rounds, then the wrapped
// security-layer offer ("no security layer" only) and the client's wrapped choice.
asio::awaitable<void> Session::on_auth_gssapi(const std::string& initial) {
    constexpr int kMaxRounds = 8;   // Kerberos needs one; SPNEGO-style chatter is refused
    if (!gssapi_usable()) co_return reply(Reply(504, "5.5.4", "authentication mechanism not offered on this listener"));
    if (auth_blocked("GSSAPI", "")) co_return;
    std::string client, failure;
    AuthNote note;   // a named variable: GCC 12 mishandles temporaries inside co_await
    // Our own keytab failed: not the client's fault, so no brakes.
    auto unavailable = [&] {
        log::info("smtp.auth", {{"listener", l_.name}, {"client", client_.address.text()}, {"mechanism", "GSSAPI"},
                                {"user", client.empty() ? "-" : client}, {"result", "unavailable"}, {"code", 454},
                                {"reason", failure}});
        reply(Reply(454, "4.7.0", "temporary authentication failure"));
    };
    std::optional<std::string> token = co_await first_response(initial);
    if (!token) co_return;
    auth::GssapiAcceptor acceptor(*auth::gssapi_settings(*svc_.config));
    for (int round = 0;; ++round) {
        auth::GssapiStep step = co_await acceptor.accept_async(std::move(*token));
        failure = step.error;
        if (step.kind == auth::GssapiStep::Kind::Unavailable) co_return unavailable();
        if (step.kind == auth::GssapiStep::Kind::Failed || round + 1 >= kMaxRounds) {
            note = {"", "", failure, ""};
            co_return co_await auth_failed("GSSAPI", std::move(note));
        }
        if (step.kind == auth::GssapiStep::Kind::Complete) {
            client = acceptor.client_name();
            if (!step.token.empty()) {   // mutual authentication: the client answers empty
                token = co_await sasl_read(encode_base64(step.token));
                if (!token) co_return;
                if (!token->empty()) failure = "data after the last context token";
                if (!failure.empty()) {
                    note = {client, "", failure, ""};
                    co_return co_await auth_failed("GSSAPI", std::move(note));
                }
            }
            break;
        }
        token = co_await sasl_read(encode_base64(step.token));
        if (!token) co_return;
    }
    std::optional<std::string> offer = acceptor.wrap_offer(failure);
    if (!offer) co_return unavailable();
    std::optional<std::string> answer = co_await sasl_read(encode_base64(*offer));
    if (!answer) co_return;
    std::optional<auth::LayerChoice> choice = acceptor.unwrap_choice(*answer, failure);
    if (choice && choice->layer != auth::kLayerNone) failure = "client chose a security layer that was not offered";
    if (!choice || choice->layer != auth::kLayerNone) {
        note = {client, "", failure, ""};
        co_return co_await auth_failed("GSSAPI", std::move(note));
    }
    if (auth_blocked("GSSAPI", client)) co_return;
    std::shared_ptr<const directory::Directory> dir = svc_.directory->get();
    std::optional<auth::KerberosMatch> m = auth::map_kerberos(*dir, client, svc_.config->kerberos.realm);
    if (!m) {
        note = {client, "", "no directory user or server for this Kerberos principal", ""};
        co_return co_await auth_failed("GSSAPI", std::move(note));
    }
    // No proxy authorisation: the identity asked for is the principal or its mapped name.
    if (!choice->authzid.empty() && choice->authzid != client && choice->authzid != m->principal.name) {
        note = {client, m->principal.text(), "authorization identity " + choice->authzid + " is not the authenticated principal", ""};
        co_return co_await auth_failed("GSSAPI", std::move(note));
    }
    auth_succeeded("GSSAPI", std::move(m->principal), {client, "", "mapped by " + m->rule, ""});
}

// EXTERNAL is offered only to a client whose certificate names a directory server.
bool Session::external_usable() const {
    if (!l_.auth.server || !svc_.directory || !s_.tls_active()) return false;
    return auth::server_for_certificate(*svc_.directory->get(), s_.peer_certificate(), client_.address) != nullptr;
}

// RFC 4422 App. A, RFC 4954: the credential is the TLS client certificate; the response
// is the authorization identity (empty: the certificate's own server).
asio::awaitable<void> Session::on_auth_external(const std::string& initial) {
    if (!l_.auth.server || !svc_.directory) co_return reply(Reply(504, "5.5.4", "authentication mechanism not offered on this listener"));
    if (!s_.tls_active()) co_return reply(Reply(538, "5.7.11", "encryption required for the requested authentication mechanism"));
    std::optional<std::string> authzid = co_await first_response(initial);
    if (!authzid) co_return;
    if (auth_blocked("EXTERNAL", "")) co_return;
    std::optional<net::PeerCertificate> cert = s_.peer_certificate();
    auth::ExternalOutcome out = auth::authenticate_external(*svc_.directory->get(), cert, client_.address, *authzid);
    std::string fingerprint = cert ? cert->fingerprint : "-";
    if (!out.principal) {
        if (out.reply.code != 535) {   // not a credential failure (e.g. 501 syntax)
            log::info("smtp.auth", {{"listener", l_.name}, {"client", client_.address.text()}, {"mechanism", "EXTERNAL"},
                                    {"fingerprint", fingerprint}, {"result", "failure"}, {"reason", out.reason}});
            co_return reply(out.reply);
        }
        AuthNote note{"", "", out.reason, fingerprint};   // named: GCC 12 mishandles temporaries in co_await
        co_return co_await auth_failed("EXTERNAL", std::move(note));
    }
    auth_succeeded("EXTERNAL", std::move(*out.principal), {"", "", out.reason, fingerprint});
}

bool Session::auth_blocked(std::string_view mech, const std::string& user) {
    if (!svc_.brakes) return false;
    std::string key = user.empty() ? policy::Brakes::ip_key(client_.address.text()) : policy::Brakes::user_key(user);
    auto left = svc_.brakes->locked(key);
    if (!left) return false;
    // A correct password during a lockout is refused too: it is not even checked.
    log::warn("smtp.auth", {{"listener", l_.name}, {"client", client_.address.text()}, {"mechanism", mech},
                            {"user", user.empty() ? "-" : user}, {"result", "locked"}, {"locked", key},
                            {"retry_after_s", (left->count() + 999) / 1000}});
    reply(policy::Brakes::lockout_reply());
    return true;
}

asio::awaitable<void> Session::auth_failed(std::string_view mech, AuthNote note) {
    const std::string& user = note.user;
    policy::Brakes::Failure f;
    if (svc_.brakes)
        f = svc_.brakes->auth_failed(policy::Brakes::ip_key(client_.address.text()),
                                     user.empty() ? std::string() : policy::Brakes::user_key(user), l_.limits);
    log::info("smtp.auth", {{"listener", l_.name}, {"client", client_.address.text()}, {"mechanism", mech},
                            {"user", user.empty() ? "-" : user}, {"principal", note.principal.empty() ? "-" : note.principal},
                            {"server", "-"}, {"fingerprint", note.fingerprint.empty() ? "-" : note.fingerprint},
                            {"result", "failure"}, {"reason", note.reason.empty() ? "invalid credentials" : note.reason},
                            {"failures", f.failures}, {"delay_ms", f.delay.count()}});
    if (f.locked_ip || f.locked_user)
        log::warn("smtp.auth.lockout", {{"listener", l_.name}, {"client", client_.address.text()},
                                        {"user", user.empty() ? "-" : user},
                                        {"locked", f.locked_ip && f.locked_user ? "address,user" : f.locked_ip ? "address" : "user"},
                                        {"failures", f.failures},
                                        {"duration_s", std::chrono::duration_cast<std::chrono::seconds>(l_.limits.auth_lockout_window).count()}});
    if (f.delay.count() > 0) {
        // Tarpit on this session's own executor: other sessions on the thread go on.
        co_await flush();
        asio::steady_timer t(co_await asio::this_coro::executor, f.delay);
        std::error_code ec;
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    reply(Reply(535, "5.7.8", "authentication credentials invalid"));
}

void Session::auth_succeeded(std::string_view mech, policy::Principal principal, AuthNote note) {
    if (svc_.brakes) svc_.brakes->auth_succeeded(policy::Brakes::user_key(note.user.empty() ? principal.name : note.user));
    bool server = principal.kind == policy::Principal::Kind::Server;
    log::info("smtp.auth", {{"listener", l_.name}, {"client", client_.address.text()}, {"mechanism", mech},
                            {"user", note.user.empty() ? principal.name : note.user}, {"principal", principal.text()},
                            {"server", server ? principal.name : "-"}, {"fingerprint", note.fingerprint.empty() ? "-" : note.fingerprint},
                            {"result", "success"}, {"reason", note.reason.empty() ? "-" : note.reason}});
    facts_.principal = std::move(principal);
    reply(Reply(235, "2.7.0", "authentication successful"));
}

std::optional<Reply> Session::braked(std::uint32_t messages, std::uint32_t recipients) {
    if (!svc_.brakes || facts_.principal.kind != policy::Principal::Kind::User) return std::nullopt;
    policy::Brakes::Limit hit = svc_.brakes->would_exceed(facts_.principal.text(), messages, recipients, l_.limits);
    if (hit == policy::Brakes::Limit::None) return std::nullopt;
    Reply r = policy::Brakes::rate_reply(hit);
    bool msgs = hit == policy::Brakes::Limit::Messages;
    log::warn("smtp.rate.limited", {{"listener", l_.name}, {"client", client_.address.text()}, {"principal", facts_.principal.text()},
                                    {"limit", msgs ? "limits.max_messages_per_hour" : "limits.max_recipients_per_hour"},
                                    {"max", msgs ? l_.limits.max_messages_per_hour : l_.limits.max_recipients_per_hour},
                                    {"code", r.code}, {"reason", r.text}});
    return r;
}

asio::awaitable<void> Session::on_starttls() {
    if (s_.tls_active()) co_return reply(Reply(503, "5.5.1", "TLS is already active"));
    if (!svc_.tls || l_.tls != config::TlsMode::StartTls) co_return reply(Reply(502, "5.5.1", "STARTTLS is not offered here"));
    reply(Reply(220, "2.0.0", "ready to start TLS"));
    // RFC 3207 §4.2 / CVE-2011-0411: anything the client pipelined after STARTTLS was sent
    // in clear and must not be executed inside the TLS session.
    std::size_t injected = in_.size() - in_pos_;
    in_.clear();
    in_pos_ = 0;
    if (injected > 0)
        log::warn("smtp.starttls.injection", {{"listener", l_.name}, {"client", client_.address.text()}, {"discarded_bytes", injected}});
    if (!co_await flush()) {
        quit_ = true;
        co_return;
    }
    if (!co_await s_.accept_tls(*tls_context(), kTlsHandshakeTimeout)) {
        log::info("smtp.tls.failed", {{"listener", l_.name}, {"client", client_.address.text()}, {"error", s_.tls_error()}});
        quit_ = true;
        co_return;
    }
    facts_.tls = true;
    // RFC 3207 §4.2: forget everything learnt before TLS, including EHLO.
    reset_transaction("STARTTLS");
    facts_.principal = policy::Principal{};
    helo_.clear();
    esmtp_ = false;
}

void Session::reset_transaction(std::string_view why) {
    if (in_mail_ && !why.empty() && (refused_rcpts_ > 0 || !rcpts_.empty() || bdat_started_)) {
        Reply r = refused_rcpts_ > 0 && rcpts_.empty() ? Reply(550, "5.0.0", "no recipient accepted: " + last_refusal_)
                                                       : Reply(250, "2.0.0", "transaction abandoned: " + std::string(why));
        log_transaction("abandoned", r, bdat_buf_.size());
    }
    in_mail_ = false;
    sender_ = Path{};
    mail_ = MailParams{};
    rcpts_.clear();
    refused_rcpts_ = 0;
    last_refusal_.clear();
    bdat_started_ = false;
    bdat_too_big_ = false;
    bdat_buf_.clear();
}

void Session::log_transaction(std::string_view result, const Reply& r, std::uint64_t size) {
    auto ms = std::chrono::duration_cast<milliseconds>(Clock::now() - txn_started_).count();
    std::string qid;
    if (result == "accepted") qid = r.text.substr(r.text.rfind(' ') + 1);
    log::info("smtp.transaction", {{"qid", qid.empty() ? "-" : qid}, {"listener", l_.name}, {"client", client_.address.text()},
                                   {"tls", s_.tls_active() ? s_.tls_description() : "no"},
                                   {"principal", facts_.principal.text()}, {"from", sender_.text()},
                                   {"rcpts", join(rcpts_)}, {"nrcpt", rcpts_.size()}, {"refused_rcpts", refused_rcpts_},
                                   {"size", size}, {"result", result}, {"code", r.code}, {"reason", r.summary()},
                                   {"duration_ms", ms}});
}

std::string Session::protocol() const {
    std::string p = mail_.smtputf8 ? "UTF8SMTP" : (esmtp_ ? "ESMTP" : "SMTP");
    if (s_.tls_active()) p += "S";
    if (!facts_.principal.anonymous()) p += "A";   // RFC 3848
    return p;
}

std::string Session::received_header(const std::string& id) const {
    std::string h = "Received: from " + helo_ + " ([" + client_.address.text() + "])\r\n\tby " +
                    svc_.config->server.hostname + " (rampart) with " + protocol() + " id " + id + "\r\n";
    if (s_.tls_active()) h += "\t(" + s_.tls_description() + ")\r\n";
    if (facts_.principal.kind == policy::Principal::Kind::Server)
        h += "\t(authenticated as " + facts_.principal.text() + " by TLS client certificate)\r\n";
    if (rcpts_.size() == 1) h += "\tfor <" + rcpts_.front().address + ">";
    else h += "\t";
    h += "; " + rfc5322_date(std::time(nullptr)) + "\r\n";
    return h;
}

}  // namespace

asio::awaitable<void> serve_session(net::Stream& stream, const config::Listener& listener, ClientInfo client,
                                    SessionServices& services) {
    bool failed = false;
    try {
        Session session(stream, listener, client, services);
        co_await session.run();
    } catch (const std::exception& e) {
        // Outermost frame: answer, log, close (STYLE.md §6). Nothing was acknowledged that
        // is not already durable.
        log::error("smtp.session.exception", {{"listener", listener.name}, {"client", client.address.text()}, {"error", e.what()}});
        failed = true;
    }
    if (failed) {
        std::string r = Reply(451, "4.3.0", "internal error; try again later").wire();
        co_await stream.write(r, std::chrono::seconds(5));
    }
    stream.close();
}

}  // namespace rampart::smtp
