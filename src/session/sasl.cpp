// session/sasl.cpp — SASL mechanisms of the server session (see sasl.hpp).
#include "session/sasl.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>

#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <sodium.h>

#include "auth/external.hpp"
#include "auth/gssapi.hpp"
#include "auth/kerberos_map.hpp"
#include "auth/password.hpp"
#include "auth/sasl_codec.hpp"
#include "auth/verifier.hpp"
#include "directory/directory.hpp"
#include "net/stream.hpp"
#include "policy/brakes.hpp"
#include "session/state.hpp"
#include "smtp/command_parser.hpp"
#include "smtp/reply.hpp"
#include "util/log.hpp"
#include "util/metric_catalog.hpp"

namespace rampart::session {
namespace {

using smtp::Reply;

constexpr std::size_t kSaslLineMax = 12288;   // RFC 4954 §4: AUTH command and SASL responses

using auth::decode_base64;
using auth::encode_base64;

}  // namespace

std::string Authenticator::mechanisms() const {
    std::string m;
    if (gssapi_usable()) m += " GSSAPI";
    if (external_usable()) m += " EXTERNAL";
    if (basic_usable()) m += " PLAIN LOGIN";
    return m;
}

bool Authenticator::basic_usable() const {
    return s_.listener.auth.basic && s_.svc.directory && (s_.stream.tls_active() || !s_.listener.auth.basic_requires_tls);
}

// One SASL continuation: sends "334 challenge", returns the decoded answer, or nullopt
// after replying to a cancel ("*"), a bad base64 line or a closed connection.
asio::awaitable<std::optional<std::string>> Authenticator::sasl_read(const std::string& challenge) {
    s_.reply(Reply(334, "", challenge));
    std::string line;
    LineStatus st = co_await s_.io.read_line(line, std::max<std::size_t>(s_.listener.limits.max_command_length, kSaslLineMax),
                                                s_.listener.limits.command_timeout);
    if (st == LineStatus::Closed) {
        s_.quit = true;
        co_return std::nullopt;
    }
    if (st != LineStatus::Ok) {
        s_.reply(Reply(500, "5.5.6", "bad SASL response line"));
        co_return std::nullopt;
    }
    auth::SaslLine resp = auth::decode_response_line(line);
    if (resp.kind == auth::SaslLine::Kind::Cancel) {
        s_.reply(Reply(501, "5.0.0", "authentication cancelled"));
        co_return std::nullopt;
    }
    if (resp.kind == auth::SaslLine::Kind::BadBase64) {
        s_.reply(Reply(501, "5.5.2", "SASL response is not valid base64"));
        co_return std::nullopt;
    }
    co_return std::move(resp.data);
}

// The first SASL response (RFC 4954 §4): the initial response on the AUTH line ("=" is an
// empty one), or, without one, the answer to an empty 334. nullopt: already answered.
asio::awaitable<std::optional<std::string>> Authenticator::first_response(const std::string& initial) {
    if (initial.empty()) co_return co_await sasl_read("");
    auth::SaslLine resp = auth::decode_initial_response(initial);
    if (resp.kind != auth::SaslLine::Kind::Data) {
        s_.reply(Reply(501, "5.5.2", "SASL response is not valid base64"));
        co_return std::nullopt;
    }
    co_return std::move(resp.data);
}

asio::awaitable<void> Authenticator::on_auth(const smtp::Command& cmd) {
    // However the exchange ends, a check still in flight gives its slot back.
    struct EndAttempt {
        policy::Brakes::Attempt& a;
        ~EndAttempt() { a.release(); }
    } end_attempt{attempt_};
    std::string mech = cmd.argument.substr(0, cmd.argument.find(' '));
    std::string initial = cmd.argument.size() > mech.size() ? cmd.argument.substr(mech.size() + 1) : std::string();
    for (char& c : mech) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (mech == "GSSAPI") co_return co_await on_gssapi(initial);
    if (mech == "EXTERNAL") co_return co_await on_external(initial);
    if (mech != "PLAIN" && mech != "LOGIN") co_return s_.reply(Reply(504, "5.5.4", "unrecognized authentication mechanism"));
    if (!s_.listener.auth.basic || !s_.svc.directory) co_return s_.reply(Reply(504, "5.5.4", "authentication mechanism not offered on this listener"));
    if (!basic_usable()) co_return s_.reply(Reply(538, "5.7.11", "encryption required for the requested authentication mechanism"));
    co_await on_basic(std::move(mech), initial);
}

asio::awaitable<void> Authenticator::on_basic(std::string mech, const std::string& initial) {
    if (auth_blocked(mech, "")) co_return;
    std::string user, password;
    if (mech == "PLAIN") {
        std::optional<std::string> resp = co_await first_response(initial);
        if (!resp) co_return;
        // RFC 4616: authzid NUL authcid NUL passwd
        std::optional<auth::PlainResponse> plain = auth::parse_plain(*resp);
        sodium_memzero(resp->data(), resp->size());
        if (!plain) co_return s_.reply(Reply(501, "5.5.2", "malformed PLAIN response"));
        std::string authzid = std::move(plain->authzid);
        user = std::move(plain->user);
        password = std::move(plain->password);
        if (!authzid.empty() && authzid != user) {
            sodium_memzero(password.data(), password.size());
            AuthNote note{user, "", "authorization identity differs from the user", ""};   // named: GCC 12 mishandles temporaries in co_await
            co_return co_await auth_failed(mech, std::move(note));
        }
    } else {
        std::optional<std::string> u;
        if (!initial.empty()) {
            u = decode_base64(initial);
            if (!u) co_return s_.reply(Reply(501, "5.5.2", "SASL response is not valid base64"));
        } else {
            u = co_await sasl_read("VXNlcm5hbWU6");  // "Username:"
        }
        if (!u) co_return;
        auto p = co_await sasl_read("UGFzc3dvcmQ6");      // "Password:"
        if (!p) co_return;
        user = *u;
        password = *p;
    }
    if (!co_await begin_check(mech, user)) {
        sodium_memzero(password.data(), password.size());
        co_return;
    }
    std::shared_ptr<const directory::Directory> dir = s_.svc.directory->get();
    const directory::User* u = dir->user(user);
    static const auth::HashVerifier kHashes;
    const auth::PasswordVerifier& verifier = s_.svc.verifier ? *s_.svc.verifier : kHashes;
    auth::Check check = co_await verifier.verify(u, std::move(password));
    if (check == auth::Check::Unavailable) {  // RFC 4954 §6: the directory did not answer
        log::info("smtp.auth", {{"listener", s_.listener.name}, {"client", s_.client_text()}, {"mechanism", mech},
                                {"user", user}, {"result", "unavailable"}});
        co_return s_.reply(Reply(454, "4.7.0", "temporary authentication failure"));
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
bool Authenticator::gssapi_usable() const {
    return s_.listener.auth.integrated && s_.svc.directory && !s_.svc.config->kerberos.keytab.empty();
}

// SASL GSSAPI (RFC 4752 §3.1): context tokens in 334 rounds, then the wrapped
// security-layer offer ("no security layer" only) and the client's wrapped choice.
asio::awaitable<void> Authenticator::on_gssapi(const std::string& initial) {
    constexpr int kMaxRounds = 8;   // Kerberos needs one; SPNEGO-style chatter is refused
    if (!gssapi_usable()) co_return s_.reply(Reply(504, "5.5.4", "authentication mechanism not offered on this listener"));
    if (!co_await begin_check("GSSAPI", "")) co_return;
    std::string client, failure;
    AuthNote note;   // a named variable: GCC 12 mishandles temporaries inside co_await
    // Our own keytab failed: not the client's fault, so no brakes.
    auto unavailable = [&] {
        log::info("smtp.auth", {{"listener", s_.listener.name}, {"client", s_.client_text()}, {"mechanism", "GSSAPI"},
                                {"user", client.empty() ? "-" : client}, {"result", "unavailable"}, {"code", 454},
                                {"reason", failure}});
        s_.reply(Reply(454, "4.7.0", "temporary authentication failure"));
    };
    std::optional<std::string> token = co_await first_response(initial);
    if (!token) co_return;
    auth::GssapiAcceptor acceptor(*auth::gssapi_settings(*s_.svc.config));
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
    std::shared_ptr<const directory::Directory> dir = s_.svc.directory->get();
    std::optional<auth::KerberosMatch> m = auth::map_kerberos(*dir, client, s_.svc.config->kerberos.realm);
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
bool Authenticator::external_usable() const {
    if (!s_.listener.auth.server || !s_.svc.directory || !s_.stream.tls_active()) return false;
    return auth::server_for_certificate(*s_.svc.directory->get(), s_.stream.peer_certificate(), s_.client.address) != nullptr;
}

// RFC 4422 App. A, RFC 4954: the credential is the TLS client certificate; the response
// is the authorization identity (empty: the certificate's own server).
asio::awaitable<void> Authenticator::on_external(const std::string& initial) {
    if (!s_.listener.auth.server || !s_.svc.directory) co_return s_.reply(Reply(504, "5.5.4", "authentication mechanism not offered on this listener"));
    if (!s_.stream.tls_active()) co_return s_.reply(Reply(538, "5.7.11", "encryption required for the requested authentication mechanism"));
    std::optional<std::string> authzid = co_await first_response(initial);
    if (!authzid) co_return;
    if (!co_await begin_check("EXTERNAL", "")) co_return;
    std::optional<net::PeerCertificate> cert = s_.stream.peer_certificate();
    auth::ExternalOutcome out = auth::authenticate_external(*s_.svc.directory->get(), cert, s_.client.address, *authzid);
    std::string fingerprint = cert ? cert->fingerprint : "-";
    if (!out.principal) {
        AuthNote note{"", "", out.reason, fingerprint};   // named: GCC 12 mishandles temporaries in co_await
        co_return co_await auth_failed("EXTERNAL", std::move(note));
    }
    auth_succeeded("EXTERNAL", std::move(*out.principal), {"", "", out.reason, fingerprint});
}

bool Authenticator::auth_blocked(std::string_view mech, const std::string& user) {
    if (!s_.svc.brakes) return false;
    std::string key = user.empty() ? policy::Brakes::ip_key(s_.client_text()) : policy::Brakes::user_key(user);
    auto left = s_.svc.brakes->locked(key);
    if (!left) return false;
    // A correct password during a lockout is refused too: it is not even checked.
    refuse_locked(mech, user, key, *left);
    return true;
}

void Authenticator::refuse_locked(std::string_view mech, const std::string& user, const std::string& key,
                                  std::chrono::milliseconds left) {
    log::warn("smtp.auth", {{"listener", s_.listener.name}, {"client", s_.client_text()}, {"mechanism", mech},
                            {"user", user.empty() ? "-" : user}, {"result", "locked"}, {"locked", key},
                            {"retry_after_s", (left.count() + 999) / 1000}});
    s_.reply(policy::Brakes::lockout_reply());
}

asio::awaitable<bool> Authenticator::begin_check(std::string_view mech, const std::string& user) {
    if (!s_.svc.brakes) co_return true;
    // Checks in flight that could all fail hold the other checks of the same address or
    // user back: a legitimate client with many parallel logins waits a few hash times,
    // a guesser never gets more checks than the lockout allows.
    constexpr std::chrono::milliseconds kPoll{25};
    constexpr std::chrono::milliseconds kMaxWait{std::chrono::seconds(10)};
    std::string ip_key = policy::Brakes::ip_key(s_.client_text());
    std::string user_key = user.empty() ? std::string() : policy::Brakes::user_key(user);
    std::optional<asio::steady_timer> timer;
    for (std::chrono::milliseconds waited{0};; waited += kPoll) {
        policy::Brakes::Begin b = s_.svc.brakes->begin_attempt(ip_key, user_key, s_.listener.limits);
        if (b.ok()) {
            attempt_ = std::move(b.attempt);
            co_return true;
        }
        if (b.retry.count() > 0) {
            refuse_locked(mech, user, b.blocked, b.retry);
            co_return false;
        }
        if (waited >= kMaxWait) {
            log::warn("smtp.auth", {{"listener", s_.listener.name}, {"client", s_.client_text()}, {"mechanism", mech},
                                    {"user", user.empty() ? "-" : user}, {"result", "busy"}, {"locked", b.blocked}});
            s_.reply(policy::Brakes::busy_reply());
            co_return false;
        }
        if (!timer) timer.emplace(co_await asio::this_coro::executor);
        timer->expires_after(kPoll);
        std::error_code ec;
        co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

asio::awaitable<void> Authenticator::auth_failed(std::string_view mech, AuthNote note) {
    const std::string& user = note.user;
    policy::Brakes::Failure f;
    std::string user_key = user.empty() ? std::string() : policy::Brakes::user_key(user);
    if (attempt_.active())
        f = attempt_.failed(user_key, s_.listener.limits);   // recorded and the slot given back in one step
    else if (s_.svc.brakes)
        f = s_.svc.brakes->auth_failed(policy::Brakes::ip_key(s_.client_text()), user_key, s_.listener.limits);
    metrics::catalog().auth_failures.with({s_.listener.name, mech}).inc();
    if (f.locked_ip) metrics::catalog().auth_lockouts.with({s_.listener.name, "address"}).inc();
    if (f.locked_user) metrics::catalog().auth_lockouts.with({s_.listener.name, "user"}).inc();
    log::info("smtp.auth", {{"listener", s_.listener.name}, {"client", s_.client_text()}, {"mechanism", mech},
                            {"user", user.empty() ? "-" : user}, {"principal", note.principal.empty() ? "-" : note.principal},
                            {"server", "-"}, {"fingerprint", note.fingerprint.empty() ? "-" : note.fingerprint},
                            {"result", "failure"}, {"reason", note.reason.empty() ? "invalid credentials" : note.reason},
                            {"failures", f.failures}, {"delay_ms", f.delay.count()}});
    if (f.locked_ip || f.locked_user)
        log::warn("smtp.auth.lockout", {{"listener", s_.listener.name}, {"client", s_.client_text()},
                                        {"user", user.empty() ? "-" : user},
                                        {"locked", f.locked_ip && f.locked_user ? "address,user" : f.locked_ip ? "address" : "user"},
                                        {"failures", f.failures},
                                        {"duration_s", std::chrono::duration_cast<std::chrono::seconds>(s_.listener.limits.auth_lockout_window).count()}});
    if (f.delay.count() > 0) {
        // Tarpit on this session's own executor: other sessions on the thread go on.
        co_await s_.io.flush();
        asio::steady_timer t(co_await asio::this_coro::executor, f.delay);
        std::error_code ec;
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    s_.reply(Reply(535, "5.7.8", "authentication credentials invalid"));
}

void Authenticator::auth_succeeded(std::string_view mech, policy::Principal principal, AuthNote note) {
    std::string user_key = policy::Brakes::user_key(note.user.empty() ? principal.name : note.user);
    bool checked = attempt_.active();
    if (checked && !attempt_.succeeded(user_key)) {
        // A concurrent failure locked the address or the user while this was checked.
        std::string user = note.user.empty() ? principal.name : note.user;
        std::string key = s_.svc.brakes->locked(user_key) ? user_key : policy::Brakes::ip_key(s_.client_text());
        auto left = s_.svc.brakes->locked(key);
        return refuse_locked(mech, user, key, left.value_or(std::chrono::milliseconds(0)));
    }
    if (!checked && s_.svc.brakes) s_.svc.brakes->auth_succeeded(user_key);
    bool server = principal.kind == policy::Principal::Kind::Server;
    log::info("smtp.auth", {{"listener", s_.listener.name}, {"client", s_.client_text()}, {"mechanism", mech},
                            {"user", note.user.empty() ? principal.name : note.user}, {"principal", principal.text()},
                            {"server", server ? principal.name : "-"}, {"fingerprint", note.fingerprint.empty() ? "-" : note.fingerprint},
                            {"result", "success"}, {"reason", note.reason.empty() ? "-" : note.reason}});
    principal.mechanism = std::string(mech);
    s_.facts.principal = std::move(principal);
    s_.reply(Reply(235, "2.7.0", "authentication successful"));
}

}  // namespace rampart::session
