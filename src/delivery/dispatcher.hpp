// delivery/dispatcher.hpp — one delivery attempt for one queued message: routes every
// pending recipient (Maildir for authoritative domains, else the most specific send
// connector) and marks the recipients that are finished. Owns the outbound connection
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

namespace rampart::delivery {

class Dispatcher {
public:
    Dispatcher(asio::any_io_executor ex, const config::Config& cfg, queue::Spool& spool);
    ~Dispatcher();

    // Tries each recipient not yet done once; sets `done` on those delivered.
    asio::awaitable<void> deliver(queue::Envelope& env);

private:
    struct Destination;
    Destination& destination(const std::string& key, std::uint32_t limit);
    asio::awaitable<void> deliver_local(queue::Envelope& env, const std::vector<std::size_t>& idx, std::string_view message);
    asio::awaitable<void> deliver_smarthost(queue::Envelope& env, const config::SendConnector& c,
                                            const std::vector<std::size_t>& idx, std::string_view message);

    asio::any_io_executor ex_;
    const config::Config& cfg_;
    queue::Spool& spool_;
    std::shared_ptr<asio::ssl::context> tls_plain_;    // no verification
    std::shared_ptr<asio::ssl::context> tls_verify_;
    std::map<std::string, std::unique_ptr<Destination>> destinations_;
};

}  // namespace rampart::delivery
