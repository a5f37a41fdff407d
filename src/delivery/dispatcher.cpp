// delivery/dispatcher.cpp — routing and delivery attempts. Every attempt writes one
// "delivery.attempt" log line per recipient group.
#include "delivery/dispatcher.hpp"

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <optional>

#include <asio/redirect_error.hpp>
#include <asio/ssl/context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include "config/address_space.hpp"
#include "delivery/destination_policy.hpp"
#include "delivery/local.hpp"
#include "delivery/maildir.hpp"
#include "directory/directory.hpp"
#include "dns/resolver.hpp"
#include "net/cidr.hpp"
#include "delivery/internal_headers.hpp"
#include "net/tls.hpp"
#include "queue/spool.hpp"
#include "smtp/address.hpp"
#include "delivery/client.hpp"
#include "util/log.hpp"
#include "util/metric_catalog.hpp"
#include "util/text.hpp"

namespace rampart::delivery {

using Clock = std::chrono::steady_clock;

// Connection limit and idle connections for one destination (one smart host or MX address).
struct Dispatcher::Destination {
    std::uint32_t limit = 1;
    std::uint32_t active = 0;
    std::deque<asio::steady_timer*> waiters;
    struct Idle {
        std::unique_ptr<ClientConnection> conn;
        Clock::time_point since;
    };
    std::vector<Idle> idle;                  // oldest first

    asio::awaitable<void> acquire() {
        if (active < limit) {
            ++active;
            co_return;
        }
        asio::steady_timer t(co_await asio::this_coro::executor, Clock::time_point::max());
        waiters.push_back(&t);
        std::error_code ec;
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        // Woken by release(): the slot was handed over, `active` unchanged.
    }
    void release() {
        if (!waiters.empty()) {
            asio::steady_timer* t = waiters.front();
            waiters.pop_front();
            t->cancel();
            return;
        }
        --active;
    }
};

// What a send connector presents and trusts (tls_ca_file, certificate/key, auth_*).
struct ConnectorTls {
    std::shared_ptr<asio::ssl::context> context;
    bool client_certificate = false;
    std::string auth_password;
};

namespace {

std::shared_ptr<ConnectorTls> connector_tls(const config::Config& cfg, const config::SendConnector& c);

struct Split {
    std::string local;
    std::string domain;
};

Split split_address(const std::string& a) {
    std::size_t at = a.rfind('@');
    if (at == std::string::npos) return {a, ""};
    return {a.substr(0, at), a.substr(at + 1)};
}

std::string join_rcpts(const queue::Envelope& env, const std::vector<std::size_t>& idx) {
    std::string out;
    for (std::size_t i : idx) out += (out.empty() ? "" : ",") + env.recipients[i].address;
    return out;
}

queue::AttemptResult result(queue::Outcome outcome, int code, std::string status, std::string diagnostic,
                            std::string remote) {
    return queue::AttemptResult{outcome, code, std::move(status), std::move(diagnostic), std::move(remote)};
}

// A peer's reply as a result: 2xx/3xx delivered, 5xx failed, anything else deferred.
queue::AttemptResult from_peer(const PeerReply& r, std::string remote) {
    queue::Outcome o = r.positive() ? queue::Outcome::Delivered
                       : r.permanent() ? queue::Outcome::Failed
                                       : queue::Outcome::Deferred;
    std::string status = r.status();
    std::string text = r.text;
    if (!status.empty() && text.size() > status.size()) text = text.substr(status.size() + 1);
    if (status.empty()) status = o == queue::Outcome::Delivered ? "2.0.0" : o == queue::Outcome::Failed ? "5.0.0" : "4.0.0";
    return result(o, r.code, std::move(status), std::move(text), std::move(remote));
}

queue::AttemptResult dns_result(const dns::Failure& f, std::string diagnostic) {
    std::string status = !f.status.empty() ? f.status : f.permanent ? "5.1.2" : "4.4.3";
    return result(f.permanent ? queue::Outcome::Failed : queue::Outcome::Deferred, f.permanent ? 550 : 451,
                  std::move(status), std::move(diagnostic), "dns");
}

std::string_view outcome_name(queue::Outcome o) {
    switch (o) {
        case queue::Outcome::Delivered: return "delivered";
        case queue::Outcome::Deferred: return "deferred";
        case queue::Outcome::Failed: return "failed";
        default: return "none";
    }
}

// The one place an attempt's outcome is recorded: sets `last` (and `done` when delivered)
// on the recipients at `idx` and writes one "delivery.attempt" line for them.
// `res` may reach the sender in a report (queue/dsn.hpp), so for our own hops its remote
// is a label ("maildir", "lmtp", "smarthost") and its diagnostic names no path and no
// internal address; the log line gets those as `relay` (where it went: a Maildir path,
// the LMTP server, the smart host) and `detail` (the local error text).
void settle(queue::Envelope& env, const std::vector<std::size_t>& idx, const queue::AttemptResult& res,
            const std::string& tls, Clock::time_point start, std::string_view relay = {}, std::string_view detail = {}) {
    for (std::size_t i : idx) {
        env.recipients[i].last = res;
        if (res.outcome == queue::Outcome::Delivered) env.recipients[i].done = true;
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    metrics::catalog().delivery_attempts.with({outcome_name(res.outcome)}).inc(idx.size());
    std::string reason = res.code ? std::to_string(res.code) + " " + res.status + " " + res.diagnostic : res.diagnostic;
    log::info("delivery.attempt", {{"qid", env.id}, {"from", env.sender}, {"rcpts", join_rcpts(env, idx)},
                                   {"relay", !relay.empty() ? relay : res.remote.empty() ? "-" : res.remote},
                                   {"tls", tls.empty() ? "no" : tls}, {"result", outcome_name(res.outcome)},
                                   {"code", res.code}, {"status", res.status}, {"reason", reason},
                                   {"detail", detail.empty() ? "-" : detail}, {"duration_ms", ms}});
}

// A next hop ran into one of the client's limits (delivery/client.hpp): one warning per
// failed attempt, besides its "delivery.attempt" line.
void log_limit(const queue::Envelope& env, const std::string& relay, const std::string& limit, const std::string& reason) {
    if (limit.empty()) return;
    log::warn("delivery.peer.limit", {{"qid", env.id}, {"relay", relay}, {"limit", limit}, {"reason", reason}});
}

// QUIT (bounded: a peer that does not answer it is not waited for) and close.
asio::awaitable<void> close_politely(std::unique_ptr<ClientConnection> conn, std::chrono::milliseconds wait) {
    conn->set_deadline(Clock::now() + wait);
    co_await conn->quit();
}

constexpr std::chrono::milliseconds kQuitWait{std::chrono::seconds(10)};

}  // namespace

Dispatcher::Dispatcher(asio::any_io_executor ex, const config::Config& cfg, queue::Spool& spool,
                       const directory::Live* directory, dns::Resolver* resolver)
    : ex_(std::move(ex)), cfg_(cfg), spool_(spool), tls_plain_(net::make_client_context(false)),
      tls_verify_(net::make_client_context(true)), own_resolver_(resolver ? nullptr : std::make_unique<dns::Resolver>(cfg.dns)),
      resolver_(resolver ? resolver : own_resolver_.get()), directory_(directory) {
    for (const config::SendConnector& c : cfg.send_connectors) connector_tls_[c.name] = connector_tls(cfg, c);
    asio::co_spawn(ex_, reap_idle(alive_), asio::detached);
}

Dispatcher::~Dispatcher() {
    *alive_ = false;
    if (wake_reaper_) wake_reaper_();
}

namespace {

std::shared_ptr<ConnectorTls> connector_tls(const config::Config& cfg, const config::SendConnector& c) {
    auto out = std::make_shared<ConnectorTls>();
    net::ClientTlsSettings s{c.tls == config::OutboundTls::Verify, c.tls_ca_file.empty() ? "" : cfg.resolve(c.tls_ca_file),
                             c.certificate.empty() ? "" : cfg.resolve(c.certificate), c.key.empty() ? "" : cfg.resolve(c.key)};
    auto ctx = net::make_client_context(s);
    if (!ctx) throw std::runtime_error("send_connectors " + c.name + ": " + ctx.error().message);
    out->context = *ctx;
    out->client_certificate = !c.certificate.empty();
    if (!c.auth_password_file.empty()) {
        std::ifstream f(cfg.resolve(c.auth_password_file));
        if (!f || !std::getline(f, out->auth_password) || out->auth_password.empty())
            throw std::runtime_error("send_connectors " + c.name + ".auth_password_file: cannot read a password from " +
                                     cfg.resolve(c.auth_password_file).string());
        if (out->auth_password.back() == '\r') out->auth_password.pop_back();
    }
    return out;
}

}  // namespace

Dispatcher::Destination& Dispatcher::destination(const std::string& key, std::uint32_t limit) {
    auto& d = destinations_[key];
    if (!d) d = std::make_unique<Destination>();
    d->limit = limit;
    return *d;
}

ClientOptions Dispatcher::client_options(Deadline deadline) const {
    const config::DeliverySettings& d = cfg_.delivery;
    ClientOptions opt;
    opt.helo_name = cfg_.server.hostname;
    opt.connect_timeout = d.connect_timeout;
    opt.greeting_timeout = d.greeting_timeout;
    opt.command_timeout = d.command_timeout;
    opt.data_init_timeout = d.data_init_timeout;
    opt.data_block_timeout = d.data_block_timeout;
    opt.data_timeout = d.data_done_timeout;
    opt.deadline = deadline;
    return opt;
}

std::unique_ptr<ClientConnection> Dispatcher::take_idle(Destination& dest, Deadline deadline) {
    while (!dest.idle.empty()) {
        std::unique_ptr<ClientConnection> conn = std::move(dest.idle.back().conn);
        dest.idle.pop_back();
        if (conn->peer_gone()) continue;   // closed by the peer while idle: drop it
        conn->set_deadline(deadline);
        return conn;
    }
    return nullptr;
}

void Dispatcher::put_idle(Destination& dest, std::unique_ptr<ClientConnection> conn) {
    conn->set_deadline(Deadline::max());
    dest.idle.push_back({std::move(conn), Clock::now()});
}

asio::awaitable<void> Dispatcher::reap_idle(std::shared_ptr<bool> alive) {
    asio::steady_timer timer(ex_);
    wake_reaper_ = [&timer] { timer.cancel(); };
    auto tick = std::min<std::chrono::milliseconds>(std::chrono::seconds(1), cfg_.delivery.idle_connection_timeout);
    while (*alive) {
        timer.expires_after(tick);
        std::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (!*alive) co_return;   // the dispatcher is gone: touch nothing of it
        auto now = Clock::now();
        for (auto& [key, dest] : destinations_) {
            std::erase_if(dest->idle, [&](Destination::Idle& i) {
                if (i.conn->peer_gone()) {
                    log::info("delivery.connection.closed", {{"relay", i.conn->peer_name()}, {"reason", "closed by the peer while idle"}});
                    return true;   // nothing to say to a peer that has gone: just close
                }
                if (now - i.since < cfg_.delivery.idle_connection_timeout) return false;
                log::info("delivery.connection.closed", {{"relay", i.conn->peer_name()}, {"reason", "idle"}});
                asio::co_spawn(ex_, close_politely(std::move(i.conn), std::min(cfg_.delivery.command_timeout, kQuitWait)),
                               asio::detached);
                return true;
            });
        }
    }
}

bool Dispatcher::out_of_time(queue::Envelope& env, const std::vector<std::size_t>& idx, Deadline deadline,
                             const std::string& next) {
    if (Clock::now() < deadline) return false;
    log_limit(env, next, "attempt_timeout", "delivery.attempt_timeout reached before " + next + " was tried");
    settle(env, idx,
           result(queue::Outcome::Deferred, 0, "4.4.2", "attempt deadline (delivery.attempt_timeout) reached before trying " + next,
                  next),
           "", Clock::now());
    return true;
}

bool Dispatcher::is_local(const std::string& address) const {
    Split s = split_address(address);
    std::string domain = util::ascii_lower(s.domain);
    if (domain.empty()) return true;   // <Postmaster>
    const config::Domain* d = config::accepted_domain(cfg_.domains, domain);
    return d && d->type == config::DomainType::Authoritative;
}

bool Dispatcher::local_only(const queue::Envelope& env) const {
    bool any = false;
    for (const queue::Recipient& r : env.recipients) {
        if (r.done) continue;
        if (!is_local(r.address)) return false;
        any = true;
    }
    return any;
}

asio::awaitable<void> Dispatcher::deliver(queue::Envelope& env) {
    auto message = spool_.read_message(env.id);
    if (!message) {
        log::error("delivery.spool_read_failed", {{"qid", env.id}, {"error", message.error().message}});
        co_return;
    }
    std::vector<std::size_t> local;
    // Smart-host connectors take all their recipients at once; mx connectors per domain.
    std::map<std::pair<const config::SendConnector*, std::string>, std::vector<std::size_t>> remote;
    std::vector<std::size_t> unroutable;
    auto routes = routes_ ? routes_() : nullptr;   // held for the attempt: `remote` points into it
    auto default_routes = default_routes_ ? default_routes_() : nullptr;   // likewise
    for (std::size_t i = 0; i < env.recipients.size(); ++i) {
        const queue::Recipient& r = env.recipients[i];
        if (r.done) continue;
        if (is_local(r.address)) {
            local.push_back(i);
            continue;
        }
        Split s = split_address(r.address);
        std::string domain = util::ascii_lower(s.domain);
        smtp::Mailbox m{s.local, s.domain, !s.domain.empty() && s.domain.front() == '[', false};
        const config::SendConnector* c = config::find_connector(cfg_.send_connectors, m.literal ? std::string() : domain);
        if (routes && !m.literal)
            if (const config::SendConnector* hub = config::find_connector(*routes, domain)) c = hub;
        // The live connector to the edges supersedes the one made at load (edges removed
        // since are gone from it); a connector of the configuration's own still wins.
        if (default_routes && !m.literal && (!c || c->implicit)) c = config::find_connector(*default_routes, domain);
        if (c) remote[{c, c->route == config::Route::Mx ? domain : std::string()}].push_back(i);
        else unroutable.push_back(i);
    }
    // One deadline for the whole attempt: however many peers and replies, the delivery
    // slot is free again after delivery.attempt_timeout.
    Deadline deadline = Clock::now() + cfg_.delivery.attempt_timeout;
    if (!local.empty()) co_await deliver_local(env, local, *message, deadline);
    for (auto& [key, idx] : remote) {
        const config::SendConnector* connector = key.first;
        if (connector->route == config::Route::Smarthost) co_await deliver_smarthost(env, *connector, idx, *message, deadline);
        else if (cfg_.server.role == config::Role::Edge && cfg_.edge.strip_internal_headers) {
            // Outbound through the edge: the Internet sees the edge only (docs/perimeter.md).
            std::size_t removed = 0;
            std::string outward = strip_internal_headers(*message, cfg_.server.hostname, &removed);
            if (removed > 0) log::event(log::Level::Debug, "delivery.headers.stripped", {{"qid", env.id}, {"fields", removed}});
            co_await deliver_mx(env, *connector, key.second, idx, outward, deadline);
        } else co_await deliver_mx(env, *connector, key.second, idx, *message, deadline);
    }
    if (!unroutable.empty())
        settle(env, unroutable,
               result(queue::Outcome::Deferred, 451, "4.4.0", "no send connector serves the domain", ""), "", Clock::now());
}

asio::awaitable<void> Dispatcher::deliver_local(queue::Envelope& env, const std::vector<std::size_t>& idx, std::string_view message,
                                                Deadline deadline) {
    std::filesystem::path root = cfg_.resolve(cfg_.server.data_dir) / "mail";
    std::shared_ptr<const directory::Directory> dir = directory_ ? directory_->get() : nullptr;
    std::vector<std::size_t> lmtp;
    std::vector<std::string> lmtp_addresses;
    for (std::size_t i : idx) {
        auto start = Clock::now();
        queue::Recipient& r = env.recipients[i];
        LocalMailbox m = resolve_local(dir.get(), cfg_.domains, r.address);
        using Kind = LocalMailbox::Kind;
        if (m.kind == Kind::Unknown) {
            settle(env, {i}, result(queue::Outcome::Failed, 550, "5.1.1", "no such recipient here", "local"), "", start);
            continue;
        }
        if (m.kind == Kind::Alias) {
            settle(env, {i}, result(queue::Outcome::Failed, 550, "5.4.6", "alias loop: the alias expands to no mailbox", "local"), "", start);
            continue;
        }
        // The postmaster fallback mailbox is always ours, whatever the domain's method.
        if (m.kind != Kind::Postmaster && cfg_.delivery.method_for(m.domain) == config::LocalDelivery::Lmtp) {
            lmtp.push_back(i);
            lmtp_addresses.push_back(m.address);
            continue;
        }
        auto md = root / m.maildir;
        auto res = deliver_to_maildir(md, env.sender, r.address, message, cfg_.server.hostname);
        if (res) settle(env, {i}, result(queue::Outcome::Delivered, 250, "2.0.0", "delivered to the recipient's mailbox", "maildir"), "", start, md.string());
        else settle(env, {i}, result(queue::Outcome::Deferred, 451, "4.3.0", "the recipient's mailbox cannot be written", "maildir"), "", start, md.string(), res.error().message);
    }
    if (!lmtp.empty()) co_await deliver_lmtp(env, lmtp, lmtp_addresses, message, deadline);
}

asio::awaitable<void> Dispatcher::deliver_lmtp(queue::Envelope& env, const std::vector<std::size_t>& idx,
                                               const std::vector<std::string>& addresses, std::string_view message,
                                               Deadline deadline) {
    auto start = Clock::now();
    const config::Endpoint& server = cfg_.delivery.lmtp;
    // The LMTP server gets the directory's spelling of each address.
    queue::Envelope lmtp_env = env;
    for (std::size_t k = 0; k < idx.size(); ++k) lmtp_env.recipients[idx[k]].address = addresses[k];
    Destination& dest = destination("lmtp/" + server.text(), cfg_.delivery.lmtp_max_connections);
    co_await dest.acquire();
    std::unique_ptr<ClientConnection> conn = take_idle(dest, deadline);
    std::string error;
    TransactionResult res;
    for (int round = 0; round < 2; ++round) {
        bool fresh = !conn;
        if (!conn) {
            ClientOptions opt = client_options(deadline);
            opt.tls = config::OutboundTls::None;   // a local mailbox store: loopback or a unix socket
            opt.lmtp = true;
            auto opened = co_await ClientConnection::open(ex_, server, opt);
            if (!opened) {
                error = opened.error().message;
                log_limit(env, server.text(), opened.error().limit, error);
                break;
            }
            conn = std::move(*opened);
        }
        res = co_await conn->send(lmtp_env, idx, message);
        log_limit(env, server.text(), res.limit, res.mail.positive() ? res.data.summary() : res.mail.summary());
        if (res.mail.code == 0 && !fresh && res.limit.empty()) {   // an idle connection the server had closed
            conn.reset();
            continue;
        }
        break;
    }
    if (!conn) {
        dest.release();
        settle(env, idx, result(queue::Outcome::Deferred, 0, "4.4.1", "the mailbox server cannot be reached", "lmtp"), "",
               start, server.text(), error);
        co_return;
    }
    if (res.connection_usable) put_idle(dest, std::move(conn));
    else conn.reset();
    dest.release();
    if (!res.mail.positive()) {
        queue::AttemptResult r = from_peer(res.mail, "lmtp");
        if (r.code == 0) r.status = "4.4.2";
        settle(env, idx, r, "", start, server.text());
        co_return;
    }
    // RFC 2033 §4.2: one reply per accepted recipient after the data, in RCPT order.
    std::size_t next = 0;
    for (std::size_t k = 0; k < idx.size(); ++k) {
        PeerReply rr = k < res.rcpt.size() ? res.rcpt[k] : PeerReply{0, "no reply to RCPT"};
        if (rr.positive()) {
            if (!res.lmtp_data.empty()) rr = next < res.lmtp_data.size() ? res.lmtp_data[next] : PeerReply{0, "connection lost before this recipient's reply"};
            else rr = res.data;   // the data was not taken: its one reply counts for all
            ++next;
        }
        queue::AttemptResult r = from_peer(rr, "lmtp");
        if (r.code == 0) r.status = "4.4.2";
        settle(env, {idx[k]}, r, "", start, server.text());
    }
}

asio::awaitable<void> Dispatcher::deliver_smarthost(queue::Envelope& env, const config::SendConnector& c,
                                                    const std::vector<std::size_t>& idx, std::string_view message,
                                                    Deadline deadline) {
    std::string last_error = "no smart host reachable";
    for (const config::Endpoint& host : c.smarthosts) {
        if (out_of_time(env, idx, deadline, host.text())) co_return;
        if (co_await try_peer(env, c, host, host.host, idx, message, last_error, deadline)) co_return;
    }
}

asio::awaitable<void> Dispatcher::deliver_mx(queue::Envelope& env, const config::SendConnector& c, const std::string& domain,
                                             const std::vector<std::size_t>& idx, std::string_view message,
                                             Deadline deadline) {
    auto start = Clock::now();
    std::string last_error;
    // DNS and the sender choose these addresses: reserved ones are refused unless the
    // connector allows them (delivery/destination_policy.hpp).
    auto refused = [&](const std::string& addr) -> std::optional<std::string_view> {
        if (c.allow_private_destinations) return std::nullopt;
        auto ip = net::IpAddress::parse(addr);
        return ip ? reserved_range(*ip) : std::nullopt;
    };
    // Address literal: u@[192.0.2.1], u@[IPv6:2001:db8::1] (RFC 5321 §4.1.3) → that address.
    if (!domain.empty() && domain.front() == '[') {
        std::string inner = domain.substr(1, domain.size() >= 2 ? domain.size() - 2 : 0);
        if (inner.rfind("ipv6:", 0) == 0) inner = inner.substr(5);
        auto ip = net::IpAddress::parse(inner);
        if (!ip || domain.back() != ']') {
            settle(env, idx, result(queue::Outcome::Failed, 550, "5.1.2", "unusable address literal " + domain, domain), "", start);
            co_return;
        }
        if (auto why = refused(ip->text())) {
            settle(env, idx,
                   result(queue::Outcome::Failed, 550, "5.4.4",
                          "destination not allowed: address literal " + domain + " is " + std::string(*why) +
                              " (send_connectors.allow_private_destinations is off)",
                          domain),
                   "", start);
            co_return;
        }
        config::Endpoint peer{ip->text(), c.mx_port};
        if (out_of_time(env, idx, deadline, peer.text())) co_return;
        co_await try_peer(env, c, peer, peer.host, idx, message, last_error, deadline);
        co_return;
    }
    auto mx = co_await resolver_->lookup_mx(domain);
    if (!mx) {
        settle(env, idx, dns_result(mx.error(), mx.error().message), "", start);
        co_return;
    }
    bool loops = false;
    *mx = dns::more_preferred_than_self(std::move(*mx), cfg_.server.hostname, loops);
    if (loops) {   // RFC 5321 §5.1: we are the best MX, yet the domain is not ours
        settle(env, idx, result(queue::Outcome::Failed, 554, "5.4.6",
                                "mail for " + domain + " loops back to myself (" + cfg_.server.hostname +
                                    " is its most preferred MX host, but the domain is not an accepted domain here)",
                                "dns"),
               "", start);
        co_return;
    }
    bool any_address = false;
    std::string refusals;                      // reserved addresses skipped, for the diagnostic
    std::optional<dns::Failure> dns_failure;   // the last address look-up that failed
    for (dns::MxHost& host : *mx) {
        std::vector<std::string> addresses = std::move(host.addresses);
        if (addresses.empty()) {
            auto a = co_await resolver_->lookup_addresses(host.name);
            if (!a) {
                // One temporary failure makes the whole attempt temporary.
                if (!dns_failure || dns_failure->permanent) dns_failure = a.error();
                continue;
            }
            addresses = std::move(*a);
        }
        for (const std::string& addr : addresses) {
            if (auto why = refused(addr)) {
                log::warn("delivery.destination.refused", {{"qid", env.id}, {"rcpts", join_rcpts(env, idx)}, {"mx", host.name},
                                                           {"address", addr}, {"range", *why}});
                if (refusals.empty()) refusals = host.name + " has " + addr + " (" + std::string(*why) + ")";
                continue;
            }
            any_address = true;
            config::Endpoint peer{addr, c.mx_port};
            if (out_of_time(env, idx, deadline, peer.text())) co_return;
            if (co_await try_peer(env, c, peer, host.name, idx, message, last_error, deadline)) co_return;
        }
    }
    // Every peer tried was already logged; a summary only if none could be tried.
    // Permanent when only reserved addresses were found (and no look-up failed): DNS that
    // points a public domain at loopback or private space is a misconfiguration or an
    // attack, and the sender learns of it now rather than after max_lifetime.
    if (!any_address && !refusals.empty() && (!dns_failure || dns_failure->permanent)) {
        settle(env, idx,
               result(queue::Outcome::Failed, 550, "5.4.4",
                      "destination not allowed: every MX address of " + domain + " is reserved, e.g. " + refusals +
                          " (send_connectors.allow_private_destinations is off)",
                      "dns"),
               "", start);
        co_return;
    }
    if (!any_address && dns_failure)
        settle(env, idx, dns_result(*dns_failure, "no MX host of " + domain + " has an address: " + dns_failure->message),
               "", start);
}

asio::awaitable<bool> Dispatcher::try_peer(queue::Envelope& env, const config::SendConnector& c, const config::Endpoint& host,
                                           const std::string& tls_name, const std::vector<std::size_t>& idx,
                                           std::string_view message, std::string& last_error, Deadline deadline) {
    auto start = Clock::now();
    // A smart host is ours: reports call it "smarthost", only the log names it.
    bool smarthost = c.route == config::Route::Smarthost;
    std::string remote = smarthost ? "smarthost" : host.text();
    std::string relay = host.text();
    Destination& dest = destination(c.name + "/" + host.text(), c.max_connections);
    co_await dest.acquire();
    std::unique_ptr<ClientConnection> conn = take_idle(dest, deadline);
    bool fresh = false;
    std::string open_status = "4.4.1";
    TransactionResult res;
    for (int round = 0; round < 2; ++round) {
        if (!conn) {
            ClientOptions opt = client_options(deadline);
            opt.tls = c.tls;
            opt.tls_context = c.tls == config::OutboundTls::Verify ? tls_verify_.get() : tls_plain_.get();
            opt.tls_name = tls_name;
            opt.tls_fingerprints = c.tls_fingerprints;
            auto it = connector_tls_.find(c.name);
            if (it == connector_tls_.end() && !c.certificate.empty()) {
                // A route given at run time (an edge's replicated route to its hub) with a
                // client certificate: its TLS context is made on first use and kept.
                try {
                    it = connector_tls_.emplace(c.name, connector_tls(cfg_, c)).first;
                } catch (const std::exception& e) {
                    log::warn("delivery.tls.client_certificate", {{"connector", c.name}, {"error", e.what()}});
                }
            }
            if (it != connector_tls_.end()) {
                opt.tls_context = it->second->context.get();
                opt.auth_external = it->second->client_certificate;
                opt.auth_user = c.auth_user;
                opt.auth_password = it->second->auth_password;
            }
            auto opened = co_await ClientConnection::open(ex_, host, opt);
            if (!opened && c.tls == config::OutboundTls::Opportunistic && opened.error().status == "4.7.5") {
                // RFC 7435 §3: opportunistic TLS that cannot be negotiated falls back to
                // cleartext on a new connection (as Postfix's "may" does); required and
                // verify never do.
                log::info("delivery.tls.fallback", {{"qid", env.id}, {"relay", host.text()}, {"error", opened.error().message}});
                opt.tls = config::OutboundTls::None;
                opened = co_await ClientConnection::open(ex_, host, opt);
            }
            if (!opened) {
                last_error = opened.error().message;
                open_status = opened.error().status;
                log_limit(env, host.text(), opened.error().limit, last_error);
                break;
            }
            conn = std::move(*opened);
            fresh = true;
        }
        res = co_await conn->send(env, idx, message);
        log_limit(env, host.text(), res.limit, res.mail.positive() ? res.data.summary() : res.mail.summary());
        // A reused connection may have been closed by the peer meanwhile: retry once fresh.
        if (res.mail.code == 0 && !fresh && res.limit.empty()) {
            conn.reset();
            continue;
        }
        break;
    }
    if (!conn) {
        dest.release();
        if (smarthost)
            settle(env, idx, result(queue::Outcome::Deferred, 0, open_status, "the smart host cannot be reached", remote), "",
                   start, relay, last_error);
        else
            settle(env, idx, result(queue::Outcome::Deferred, 0, open_status, last_error, remote), "", start);
        co_return false;  // next peer
    }
    std::string tls = conn->tls();
    if (res.connection_usable) put_idle(dest, std::move(conn));
    else conn.reset();
    dest.release();
    if (res.mail.code == 0 || res.mail.code == 421) {
        last_error = res.mail.summary();
        queue::AttemptResult r = from_peer(res.mail, remote);
        if (r.code == 0) r.status = "4.4.2";   // connection lost
        settle(env, idx, r, tls, start, relay);
        co_return false;
    }
    if (!res.mail.positive()) {
        settle(env, idx, from_peer(res.mail, remote), tls, start, relay);
        co_return true;
    }
    for (std::size_t k = 0; k < idx.size() && k < res.rcpt.size(); ++k) {
        const PeerReply& rr = res.rcpt[k];
        settle(env, {idx[k]}, from_peer(rr.positive() ? res.data : rr, remote), tls, start, relay);
    }
    co_return true;
}

}  // namespace rampart::delivery
