// session/server_session.hpp — one SMTP server session (RFC 5321 §4, with the ESMTP
// extensions of DESIGN.md), from greeting to close, over any net::Stream.
// Trust: everything read from the stream is the peer's; every command is parsed by the
// pure codecs, every access question goes to policy/, every accepted message through the
// one door queue::Spool::commit(). A 250 after DATA/BDAT LAST is sent only after the
// commit returned success (DESIGN.md §8).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include <asio/awaitable.hpp>

#include "config/config.hpp"
#include "net/cidr.hpp"
#include "queue/envelope.hpp"
#include "session/local_user.hpp"

namespace asio::ssl {
class context;
}
namespace rampart::net {
class Stream;
}
namespace rampart::queue {
class Spool;
}
namespace rampart::directory {
class Live;
}
namespace rampart::config {
class LiveEdges;
}
namespace rampart::auth {
class PasswordVerifier;
}
namespace rampart::policy {
class Brakes;
}
namespace rampart::filter {
class Chain;
class Reputation;
}

namespace rampart::net {
class DescriptorBudget;
}

namespace rampart::session {

class BackPressure;

struct SessionServices {
    const config::Config* config = nullptr;
    queue::Spool* spool = nullptr;
    asio::ssl::context* tls = nullptr;                        // null: no TLS offered
    asio::ssl::context* tls_client_auth = nullptr;            // same, asks for a client certificate (auth.server)
    const directory::Live* directory = nullptr;               // null: no basic authentication
    const auth::PasswordVerifier* verifier = nullptr;         // null: the directory's stored hashes
    policy::Brakes* brakes = nullptr;                         // null: no tarpit, lockout or rate limits
    const filter::Chain* filters = nullptr;                   // null or empty: no filter chain
    BackPressure* back_pressure = nullptr;                    // null: MAIL FROM never throttled
    filter::Reputation* reputation = nullptr;                 // null: no reputation kept
    const config::LiveEdges* edges = nullptr;                 // the hub's subscribed edges; null: none
    std::function<void(const queue::Envelope&)> queued;       // hand-off to delivery
    // Descriptors a transaction needs briefly (incoming file, spool file, engine
    // connections), leased per transaction from this budget (server/fd_limits.hpp sizes
    // it); null: no budget. No lease within descriptor_wait: 451 4.3.2.
    net::DescriptorBudget* commit_descriptors = nullptr;
    std::uint64_t descriptors_per_commit = 2;
    std::chrono::milliseconds descriptor_wait{std::chrono::seconds(30)};
    // Role edge: the accepted domains as replicated from the hub, asked once per transaction
    // (null or returning null: the configuration's [[domains]]).
    std::function<std::shared_ptr<const std::vector<config::Domain>>()> live_domains;
    // Role hub: the send connectors with the one to the subscribed edges as it is now (RCPT's
    // routing check), asked once per transaction (null or returning null: the configuration's).
    std::function<std::shared_ptr<const std::vector<config::SendConnector>>()> live_connectors;
};

struct ClientInfo {
    net::IpAddress address;
    std::uint16_t port = 0;
    std::optional<LocalUser> local;   // set: a local submission (data_dir/submit.sock), already authenticated
};

// Runs the session to its end; never throws. Closes the stream before returning.
asio::awaitable<void> serve_session(net::Stream& stream, const config::Listener& listener, ClientInfo client,
                                    const SessionServices& services);

}  // namespace rampart::session
