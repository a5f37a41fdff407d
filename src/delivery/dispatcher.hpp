// delivery/dispatcher.hpp — one delivery attempt for one queued message: routes every
// pending recipient (authoritative domains: the directory's mailbox, in Maildir or over
// LMTP; else the most specific send connector) and marks the recipients that are finished. Owns the outbound connection
// pool and the per-destination connection limits.
// Runs on one executor (single-threaded): no locks.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "config/config.hpp"
#include "queue/envelope.hpp"

namespace asio::ssl {
class context;
}
namespace rampart::queue {
class Spool;
}
namespace rampart::smtp {
class ClientConnection;
}
namespace rampart::dns {
class Resolver;
}
namespace rampart::directory {
class Live;
}

namespace rampart::delivery {

struct ConnectorTls;   // per send connector: TLS context, client certificate, credentials

class Dispatcher {
public:
    // Throws std::runtime_error (start-up only) when a send connector's certificate, CA file
    // or password file cannot be loaded. `directory` (may be null: no file directory)
    // resolves local recipients to mailboxes.
    Dispatcher(asio::any_io_executor ex, const config::Config& cfg, queue::Spool& spool,
               const directory::Live* directory = nullptr);
    ~Dispatcher();

    // Tries each recipient not yet done once; sets `done` on those delivered.
    asio::awaitable<void> deliver(queue::Envelope& env);

private:
    struct Destination;
    Destination& destination(const std::string& key, std::uint32_t limit);
    asio::awaitable<void> deliver_local(queue::Envelope& env, const std::vector<std::size_t>& idx, std::string_view message);
    // LMTP (RFC 2033) to delivery.lmtp: `addresses[k]` is sent for recipient idx[k]; each
    // recipient gets its own result from the server's per-recipient replies.
    asio::awaitable<void> deliver_lmtp(queue::Envelope& env, const std::vector<std::size_t>& idx,
                                       const std::vector<std::string>& addresses, std::string_view message);
    asio::awaitable<void> deliver_smarthost(queue::Envelope& env, const config::SendConnector& c,
                                            const std::vector<std::size_t>& idx, std::string_view message);
    // Route mx (RFC 5321 §5.1): the recipients at `idx` share `domain`.
    asio::awaitable<void> deliver_mx(queue::Envelope& env, const config::SendConnector& c, const std::string& domain,
                                     const std::vector<std::size_t>& idx, std::string_view message);
    // One attempt towards one peer; logs it. Returns true when the attempt was conclusive
    // (the peer took or refused the transaction), false to try the next peer.
    asio::awaitable<bool> try_peer(queue::Envelope& env, const config::SendConnector& c, const config::Endpoint& peer,
                                   const std::string& tls_name, const std::vector<std::size_t>& idx,
                                   std::string_view message, std::string& last_error);

    asio::any_io_executor ex_;
    const config::Config& cfg_;
    queue::Spool& spool_;
    std::shared_ptr<asio::ssl::context> tls_plain_;    // no verification
    std::shared_ptr<asio::ssl::context> tls_verify_;
    std::map<std::string, std::shared_ptr<ConnectorTls>> connector_tls_;
    std::map<std::string, std::unique_ptr<Destination>> destinations_;
    std::unique_ptr<dns::Resolver> resolver_;
    const directory::Live* directory_ = nullptr;
};

}  // namespace rampart::delivery
