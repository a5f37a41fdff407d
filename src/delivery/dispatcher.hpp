// delivery/dispatcher.hpp — one delivery attempt for one queued message: routes every
// pending recipient (authoritative domains: the directory's mailbox, in Maildir or over
// LMTP; else the most specific send connector) and marks the recipients that are finished. Owns the outbound connection
// pool and the per-destination connection limits.
// Hostile peers: every attempt has a deadline (delivery.attempt_timeout); route = "mx"
// never connects to reserved addresses unless the connector allows them
// (delivery/destination_policy.hpp); pooled connections are closed with QUIT after
// delivery.idle_connection_timeout, and at once when the peer closed them.
// Runs on one executor (single-threaded): no locks.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include <chrono>
#include <functional>

#include "config/config.hpp"
#include "queue/envelope.hpp"

namespace asio::ssl {
class context;
}
namespace rampart::queue {
class Spool;
}
namespace rampart::dns {
class Resolver;
}
namespace rampart::directory {
class Live;
}

namespace rampart::delivery {

class ClientConnection;
struct ClientOptions;

struct ConnectorTls;   // per send connector: TLS context, client certificate, credentials

class Dispatcher {
public:
    // Throws std::runtime_error (start-up only) when a send connector's certificate, CA file
    // or password file cannot be loaded. `directory` (may be null: no file directory)
    // resolves local recipients to mailboxes. `resolver` (may be null: one of its own) is
    // the server's shared resolver; it must outlive the dispatcher.
    Dispatcher(asio::any_io_executor ex, const config::Config& cfg, queue::Spool& spool,
               const directory::Live* directory = nullptr, dns::Resolver* resolver = nullptr);
    ~Dispatcher();

    // Tries each recipient not yet done once; sets `done` on those delivered.
    asio::awaitable<void> deliver(queue::Envelope& env);

    // True if every pending recipient of `env` is delivered locally (Maildir or LMTP): the
    // scheduler's local lane.
    bool local_only(const queue::Envelope& env) const;

    // Role edge: connectors replicated from the hub, asked once per attempt; for the domains
    // they serve they win over the configuration's.
    using RouteSource = std::function<std::shared_ptr<const std::vector<config::SendConnector>>()>;
    void set_routes(RouteSource routes) { routes_ = std::move(routes); }
    // Role hub: the connector to the subscribed edges as they are now (add-edge and
    // remove-edge change it while the hub runs); asked only where the configuration has no
    // connector of its own for the domain (none, or only the implicit one made at load).
    void set_default_routes(RouteSource routes) { default_routes_ = std::move(routes); }

private:
    using Deadline = std::chrono::steady_clock::time_point;
    struct Destination;
    bool is_local(const std::string& address) const;
    ClientOptions client_options(Deadline deadline) const;
    // Takes a pooled connection for reuse, closing any the peer has closed meanwhile.
    std::unique_ptr<ClientConnection> take_idle(Destination& dest, Deadline deadline);
    void put_idle(Destination& dest, std::unique_ptr<ClientConnection> conn);
    // Closes pooled connections idle for longer than idle_connection_timeout (with QUIT),
    // and those whose peer has gone; runs until the dispatcher is destroyed.
    asio::awaitable<void> reap_idle(std::shared_ptr<bool> alive);
    // True (and the recipients settled as deferred) when the attempt's deadline passed.
    bool out_of_time(queue::Envelope& env, const std::vector<std::size_t>& idx, Deadline deadline, const std::string& next);
    Destination& destination(const std::string& key, std::uint32_t limit);
    asio::awaitable<void> deliver_local(queue::Envelope& env, const std::vector<std::size_t>& idx, std::string_view message,
                                        Deadline deadline);
    // LMTP (RFC 2033) to delivery.lmtp: `addresses[k]` is sent for recipient idx[k]; each
    // recipient gets its own result from the server's per-recipient replies.
    asio::awaitable<void> deliver_lmtp(queue::Envelope& env, const std::vector<std::size_t>& idx,
                                       const std::vector<std::string>& addresses, std::string_view message,
                                       Deadline deadline);
    asio::awaitable<void> deliver_smarthost(queue::Envelope& env, const config::SendConnector& c,
                                            const std::vector<std::size_t>& idx, std::string_view message,
                                            Deadline deadline);
    // Route mx (RFC 5321 §5.1): the recipients at `idx` share `domain`.
    asio::awaitable<void> deliver_mx(queue::Envelope& env, const config::SendConnector& c, const std::string& domain,
                                     const std::vector<std::size_t>& idx, std::string_view message, Deadline deadline);
    // One attempt towards one peer; logs it. Returns true when the attempt was conclusive
    // (the peer took or refused the transaction), false to try the next peer.
    asio::awaitable<bool> try_peer(queue::Envelope& env, const config::SendConnector& c, const config::Endpoint& peer,
                                   const std::string& tls_name, const std::vector<std::size_t>& idx,
                                   std::string_view message, std::string& last_error, Deadline deadline);

    asio::any_io_executor ex_;
    const config::Config& cfg_;
    queue::Spool& spool_;
    std::shared_ptr<asio::ssl::context> tls_plain_;    // no verification
    std::shared_ptr<asio::ssl::context> tls_verify_;
    std::map<std::string, std::shared_ptr<ConnectorTls>> connector_tls_;
    RouteSource routes_;
    RouteSource default_routes_;
    std::map<std::string, std::unique_ptr<Destination>> destinations_;
    std::unique_ptr<dns::Resolver> own_resolver_;   // when no shared one was given
    dns::Resolver* resolver_;
    const directory::Live* directory_ = nullptr;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);   // the reaper stops when false
    std::function<void()> wake_reaper_;
};

}  // namespace rampart::delivery
