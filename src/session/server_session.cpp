// session/server_session.cpp — the SMTP server command loop: greeting, EHLO/HELO,
// STARTTLS and the dispatch of every other command to the transaction (MAIL/RCPT/DATA/
// BDAT) or the SASL side (AUTH).
// Trust: bytes from the peer. Contracts kept here (DESIGN.md §8):
//  - only CRLF ends a command line (session/line_io.cpp);
//  - input pipelined behind STARTTLS is discarded before the handshake;
//  - every read has a deadline and every loop a bound (max_errors, sizes, timeouts).
#include "session/server_session.hpp"

#include <strings.h>

#include <algorithm>
#include <chrono>

#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "directory/directory.hpp"
#include "filter/reputation.hpp"
#include "net/stream.hpp"
#include "session/sasl.hpp"
#include "session/state.hpp"
#include "session/transaction.hpp"
#include "smtp/command_parser.hpp"
#include "smtp/reply.hpp"
#include "util/log.hpp"
#include "util/metric_catalog.hpp"

namespace rampart::session {
namespace {

using smtp::Command;
using smtp::Reply;
using smtp::Verb;

constexpr std::chrono::milliseconds kTlsHandshakeTimeout{std::chrono::seconds(60)};
constexpr std::size_t kSaslLineMax = 12288;   // RFC 4954 §4: AUTH command and SASL responses

class Session {
public:
    Session(net::Stream& stream, const config::Listener& listener, ClientInfo client, const SessionServices& svc)
        : s_(stream, listener, client, svc), txn_(s_), auth_(s_) {}

    asio::awaitable<void> run();

private:
    asio::awaitable<void> dispatch(Command& cmd);
    asio::awaitable<void> on_ehlo(const Command& cmd);
    asio::awaitable<void> on_starttls();
    asio::awaitable<void> on_auth(const Command& cmd);
    // The from-edge listener: nothing but EHLO/STARTTLS until the edge is proven (true:
    // refused, the reply is queued).
    bool edge_tls_missing() {
        policy::Decision d = policy::check_edge_tls_first(s_.facts);
        if (d.verdict != policy::Verdict::Refuse) return false;
        s_.reply(d.reply);
        return true;
    }
    asio::ssl::context* tls_context() const {
        return s_.listener.auth.server && s_.svc.tls_client_auth ? s_.svc.tls_client_auth : s_.svc.tls;
    }

    SessionState s_;
    Transaction txn_;
    Authenticator auth_;
};

asio::awaitable<void> Session::run() {
    const config::Listener& l = s_.listener;
    const std::string& host = s_.hostname();
    // The filter chain's connect stage comes first: a blocked client costs no handshake.
    filter::MessageView nothing_yet;   // a named local: GCC 12 mishandles temporaries in co_await
    filter::ChainResult cf = co_await s_.run_filters(filter::Stage::Connect, nothing_yet);
    if (cf.kind == filter::AgentVerdict::Kind::Refuse || cf.kind == filter::AgentVerdict::Kind::Tempfail) {
        metrics::catalog().refusals.with({l.name, "connect", cf.agent, cf.rule}).inc();
        log::info("smtp.connection.refused", {{"listener", l.name}, {"client", s_.client_text()}, {"rule", cf.rule},
                                              {"agent", cf.agent}, {"code", cf.reply.code}, {"reason", cf.reason},
                                              {"tracking_id", s_.tracking_id}});
        if (l.tls == config::TlsMode::Implicit) {   // a TLS client could not read a clear-text reply
            s_.stream.close();
            co_return;
        }
        co_await s_.close_after_fatal(cf.reply);
        co_await s_.stream.finish();
        co_return;
    }
    if (l.tls == config::TlsMode::Implicit) {
        if (!s_.svc.tls || !co_await s_.stream.accept_tls(*tls_context(), kTlsHandshakeTimeout)) {
            log::info("smtp.tls.failed", {{"listener", l.name}, {"client", s_.client_text()}, {"error", s_.stream.tls_error()}});
            s_.stream.close();
            co_return;
        }
        s_.facts.tls = true;
    }
    policy::Decision conn = policy::check_connection(s_.facts);
    if (conn.verdict == policy::Verdict::Refuse) {
        metrics::catalog().refusals.with({l.name, "connect", metrics::kPolicyAgent, conn.rule}).inc();
        log::info("smtp.connection.refused", {{"listener", l.name}, {"client", s_.client_text()},
                                              {"rule", conn.rule}, {"code", conn.reply.code}, {"reason", conn.reply.text},
                                              {"tracking_id", s_.tracking_id}});
        co_await s_.close_after_fatal(conn.reply);
        co_await s_.stream.finish();
        co_return;
    }
    log::event(log::Level::Debug, "smtp.connect", {{"listener", l.name}, {"client", s_.client_text()}});
    if (s_.client.local) {   // `rampart sendmail`: the kernel named the user (session/local_user.hpp)
        std::shared_ptr<const directory::Directory> dir = s_.svc.directory ? s_.svc.directory->get() : nullptr;
        s_.facts.principal = local_principal(*s_.client.local, dir.get(), host);
        log::info("smtp.auth", {{"listener", l.name}, {"client", s_.client_text()}, {"mechanism", "LOCAL"}, {"user", s_.client.local->name},
                                {"uid", s_.client.local->uid}, {"principal", s_.facts.principal.text()}, {"result", "success"}});
    }
    // Pregreet (reputation): a client that talks before the banner does not speak SMTP as
    // RFC 5321 §3.1 says. [reputation] greeting_delay waits a little to catch it; bytes
    // (or a close) already waiting are noticed without it, and the first read tells which.
    bool spoke_first = false;
    if (s_.chain && s_.svc.reputation && s_.svc.config->reputation.enabled && l.tls != config::TlsMode::Implicit) {
        if (auto wait = s_.svc.config->reputation.greeting_delay; wait.count() > 0) {
            asio::steady_timer t(co_await asio::this_coro::executor, wait);
            std::error_code ec;
            co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        spoke_first = !s_.io.pending().empty() || s_.stream.peer_gone();
    }
    s_.reply(Reply(220, "", host + " ESMTP rampart"));
    std::string line;
    while (!s_.quit) {
        // RFC 4954 §4: AUTH lines may be 12288 octets; Kerberos tickets (with an AD PAC)
        // need them. Only AUTH gets the longer limit.
        std::size_t limit = l.limits.max_command_length;
        if (auth_.gssapi_usable()) limit = std::max(limit, kSaslLineMax);
        LineStatus st = co_await s_.io.read_line(line, limit, l.limits.command_timeout);
        if (spoke_first) {   // readable before the banner: bytes (a pregreet) or only a close
            spoke_first = false;
            if (st != LineStatus::Closed || !line.empty()) {
                log::info("smtp.pregreet", {{"listener", l.name}, {"client", s_.client_text()}});
                s_.note_reputation(filter::Signal::Pregreet);
            }
        }
        if (st == LineStatus::Ok && line.size() + 2 > l.limits.max_command_length &&
            !(line.size() > 5 && strncasecmp(line.c_str(), "AUTH ", 5) == 0))
            st = LineStatus::TooLong;
        if (st == LineStatus::Closed) {
            if (s_.stream.end() == net::StreamEnd::Timeout) {
                s_.reply(Reply(421, "4.4.2", host + " timeout waiting for a command; closing"));
                co_await s_.io.flush();
            }
            txn_.reset(s_.stream.end() == net::StreamEnd::Timeout ? "timeout" : "disconnected");
            break;
        }
        if (st == LineStatus::TooLong) {
            s_.reply(Reply(500, "5.5.6", "line too long"));
        } else if (st == LineStatus::BareLineEnd) {
            s_.reply(Reply(500, "5.5.2", "bare CR or LF in command; lines must end with CRLF"));
        } else {
            Command cmd = smtp::parse_command(line, txn_.smtputf8());
            if (cmd.error) {
                s_.reply(*cmd.error);
                if (cmd.verb == Verb::Bdat) {
                    // The chunk length is unknown: the rest of the stream cannot be trusted.
                    co_await s_.close_after_fatal(Reply(421, "4.5.0", "bad BDAT command; closing"));
                    break;
                }
            } else {
                // RFC 2920: without PIPELINING (before EHLO, or after HELO) a client waits for
                // each reply, and EHLO ends a group even with it. More input already here is
                // a pipelining violation (counted once per session for the reputation).
                if ((!s_.esmtp || cmd.verb == Verb::Helo || cmd.verb == Verb::Ehlo) && !s_.io.pending().empty() &&
                    s_.note_reputation(filter::Signal::Pipelining))
                    log::info("smtp.pipelining.improper", {{"listener", l.name}, {"client", s_.client_text()},
                                                           {"command", smtp::verb_name(cmd.verb)},
                                                           {"pending_bytes", s_.io.pending().size()}});
                co_await dispatch(cmd);
            }
        }
        if (!s_.quit && s_.errors >= l.limits.max_errors) {
            txn_.reset("too many errors");
            co_await s_.close_after_fatal(Reply(421, "4.7.0", host + " too many errors; closing"));
            break;
        }
    }
    co_await s_.io.flush();
    co_await s_.stream.finish();
}

asio::awaitable<void> Session::dispatch(Command& cmd) {
    switch (cmd.verb) {
        case Verb::Helo:
        case Verb::Ehlo: co_await on_ehlo(cmd); break;
        case Verb::Mail:
            if (edge_tls_missing()) break;
            co_await txn_.on_mail(cmd);
            break;
        case Verb::Rcpt: co_await txn_.on_rcpt(cmd); break;
        case Verb::Data: co_await txn_.on_data(); break;
        case Verb::Bdat: co_await txn_.on_bdat(cmd); break;
        case Verb::Rset:
            txn_.reset("RSET");
            s_.reply(Reply(250, "2.0.0", "ok"));
            break;
        case Verb::Noop: s_.reply(Reply(250, "2.0.0", "ok")); break;
        case Verb::Quit:
            txn_.reset("QUIT");
            s_.reply(Reply(221, "2.0.0", s_.hostname() + " closing connection"));
            s_.quit = true;
            break;
        case Verb::Vrfy:
            // RFC 5321 §3.5.3: 252 neither confirms nor denies; no address is disclosed.
            s_.reply(Reply(252, "2.5.0", "cannot verify the user; send a message and delivery will be attempted"));
            break;
        case Verb::Expn: s_.reply(Reply(502, "5.5.1", "EXPN is not available")); break;
        case Verb::Help:
            s_.reply(Reply(214, "2.0.0", "commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS\nsee RFC 5321"));
            break;
        case Verb::StartTls: co_await on_starttls(); break;
        case Verb::Auth:
            if (edge_tls_missing()) break;
            co_await on_auth(cmd);
            break;
        case Verb::Unknown: s_.reply(Reply(500, "5.5.2", "command not recognized")); break;
    }
}

asio::awaitable<void> Session::on_ehlo(const Command& cmd) {
    txn_.reset("EHLO");
    s_.helo.clear();
    filter::MessageView view;
    view.helo = cmd.argument;
    filter::ChainResult cf = co_await s_.run_filters(filter::Stage::Helo, view);
    if (cf.kind == filter::AgentVerdict::Kind::Refuse || cf.kind == filter::AgentVerdict::Kind::Tempfail)
        co_return s_.reply(cf.reply);
    s_.helo = cmd.argument;
    s_.esmtp = cmd.verb == Verb::Ehlo;
    s_.helo_forged.clear();
    if (s_.chain && s_.svc.reputation)
        if (auto why = filter::helo_forgery(s_.helo, s_.client.address, s_.hostname(), s_.svc.config->domains)) {
            log::info("smtp.helo.forged", {{"listener", s_.listener.name}, {"client", s_.client_text()}, {"reason", *why}});
            s_.helo_forged = *why;   // reported at MAIL, once the client's identity is known
        }
    const std::string& host = s_.hostname();
    if (!s_.esmtp) co_return s_.reply(Reply(250, "", host));
    std::string text = host + " greets " + s_.helo;
    text += "\nPIPELINING";
    text += "\nSIZE " + std::to_string(s_.message_size_limit());   // the Received header we add counts
    text += "\n8BITMIME";
    text += "\nENHANCEDSTATUSCODES";
    text += "\nSMTPUTF8";
    text += "\nCHUNKING";
    text += "\nDSN";
    if (s_.svc.tls && s_.listener.tls == config::TlsMode::StartTls && !s_.stream.tls_active()) text += "\nSTARTTLS";
    std::string mechanisms = auth_.mechanisms();
    if (!mechanisms.empty() && s_.facts.principal.anonymous()) text += "\nAUTH" + mechanisms;
    s_.reply(Reply(250, "", text));
}

asio::awaitable<void> Session::on_auth(const Command& cmd) {
    if (s_.helo.empty() || !s_.esmtp) co_return s_.reply(Reply(503, "5.5.1", "send EHLO first"));
    if (!s_.facts.principal.anonymous()) co_return s_.reply(Reply(503, "5.5.1", "already authenticated"));
    if (txn_.active()) co_return s_.reply(Reply(503, "5.5.1", "AUTH is not allowed during a transaction"));
    co_await auth_.on_auth(cmd);
}

asio::awaitable<void> Session::on_starttls() {
    const config::Listener& l = s_.listener;
    if (s_.stream.tls_active()) co_return s_.reply(Reply(503, "5.5.1", "TLS is already active"));
    if (!s_.svc.tls || l.tls != config::TlsMode::StartTls) co_return s_.reply(Reply(502, "5.5.1", "STARTTLS is not offered here"));
    s_.reply(Reply(220, "2.0.0", "ready to start TLS"));
    // RFC 3207 §4.2 / CVE-2011-0411: anything the client pipelined after STARTTLS was sent
    // in clear and must not be executed inside the TLS session.
    std::size_t injected = s_.io.discard_pending();
    if (injected > 0)
        log::warn("smtp.starttls.injection", {{"listener", l.name}, {"client", s_.client_text()}, {"discarded_bytes", injected}});
    if (!co_await s_.io.flush()) {
        s_.quit = true;
        co_return;
    }
    if (!co_await s_.stream.accept_tls(*tls_context(), kTlsHandshakeTimeout)) {
        log::info("smtp.tls.failed", {{"listener", l.name}, {"client", s_.client_text()}, {"error", s_.stream.tls_error()}});
        s_.quit = true;
        co_return;
    }
    s_.facts.tls = true;
    // RFC 3207 §4.2: forget everything learnt before TLS, including EHLO.
    txn_.reset("STARTTLS");
    s_.facts.principal = policy::Principal{};
    s_.helo.clear();
    s_.esmtp = false;
    if (l.subscribed_edges_only) {
        // The hub's from-edge listener (docs/perimeter.md): the handshake proved the client
        // holds the key of the certificate it showed; that certificate must be the one
        // pinned for the edge at this address. The pin is the authentication.
        std::string edge;
        std::optional<net::PeerCertificate> cert = s_.stream.peer_certificate();
        policy::Decision d = policy::check_edge_certificate(s_.facts, cert, &edge);
        if (d.verdict == policy::Verdict::Refuse) {
            log::info("smtp.connection.refused", {{"listener", l.name}, {"client", s_.client_text()}, {"rule", d.rule},
                                                  {"code", d.reply.code}, {"reason", d.reply.text},
                                                  {"fingerprint", cert ? cert->fingerprint : std::string("-")}});
            co_await s_.close_after_fatal(d.reply);
            co_return;
        }
        s_.facts.principal.kind = policy::Principal::Kind::Server;
        s_.facts.principal.name = edge;
        s_.facts.principal.mechanism = "TLS";
        log::info("smtp.auth", {{"listener", l.name}, {"client", s_.client_text()}, {"mechanism", "TLS"}, {"user", "-"},
                                {"result", "success"}, {"principal", s_.facts.principal.text()}, {"server", edge},
                                {"fingerprint", cert->fingerprint}, {"reason", d.note}});
    }
}

}  // namespace

asio::awaitable<void> serve_session(net::Stream& stream, const config::Listener& listener, ClientInfo client,
                                    const SessionServices& services) {
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

}  // namespace rampart::session
