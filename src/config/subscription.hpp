// config/subscription.hpp — the edge subscription file (docs/perimeter.md, DESIGN.md §6, §11):
// what `rampart edge new-subscription` writes, `rampart hub add-edge` reads and keeps as
// data_dir/hub/edges/<edge_name>.toml, and the hub's pinned-edge list built from those files.
// Trust: a subscription file comes from another machine and an administrator's hands: every
// key is checked (file:line) before anything is pinned. Pure: parsing and rendering only;
// the secret is made and hashed by the CLI, addresses are resolved by read_pinned_edges().
#pragma once

#include <chrono>
#include <memory>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "config/load.hpp"
#include "net/cidr.hpp"
#include "util/live.hpp"

namespace rampart::config {

using SystemTime = std::chrono::system_clock::time_point;

struct Subscription {
    std::string edge_name;        // the edge's server.hostname
    std::string hub_name;         // optional (new-subscription --hub): the only hub that may import it
    std::string sync_address;     // "host:port" the hub pushes replication to
    std::string smtp_address;     // "host:port" of the edge's from-hub listener
    std::string certificate;      // PEM, public part only
    std::string secret;           // base64url of 32 random bytes (the one-time bootstrap secret)
    SystemTime expires{};
    std::optional<SystemTime> added;   // hub side: when add-edge pinned it
    std::string fingerprint;      // derived: SHA-256 of the certificate (not in the file)
};

// RFC 3339 in UTC with a "Z" ("2026-12-01T22:52:03Z"); parse accepts that form only.
std::string format_rfc3339(SystemTime t);
std::optional<SystemTime> parse_rfc3339(std::string_view s);

// The file's text: a [subscription] table with the keys above (and `added` when set).
std::string render_subscription(const Subscription& s);

// Parses and checks a subscription file: every key present and well formed, the
// certificate one valid PEM certificate, the addresses host:port. Expiry is not judged
// here (the hub judges it at add-edge, against `now`). Errors name source:line.
std::variant<Subscription, std::vector<ConfigError>> parse_subscription(std::string_view text, const std::string& source);

// An edge the hub admits on its from-edge listener and sends outbound mail to.
struct PinnedEdge {
    std::string name;
    std::string fingerprint;                 // the pinned certificate's SHA-256
    std::vector<net::IpAddress> addresses;   // hosts of smtp_address and sync_address, resolved
    Endpoint smtp;                           // the edge's from-hub listener (host as written)
};

// The hub's pinned edges: data_dir/hub/edges/*.toml. A file that does not parse is left
// out and described in `problems` (the caller logs them); a name that does not resolve
// keeps the edge with the addresses that did.
std::vector<PinnedEdge> read_pinned_edges(const std::filesystem::path& edges_dir, std::vector<std::string>& problems);

// The hub's send connector to its edges ("to-edges", for "*"): smart hosts = the edges'
// from-hub listeners, TLS required, each edge's certificate pinned, the hub's [tls]
// certificate presented. Nothing when there are no edges.
std::optional<SendConnector> edges_connector(const Config& cfg, const std::vector<PinnedEdge>& edges);

// The pinned edges of a running hub, swappable while sessions run (re-read on SIGHUP and on
// the control request `reload-edges` that add-edge and remove-edge send). A session takes
// the list at connect; a reload never changes a list already taken. Never null (empty
// at first). A class rather than an alias so that headers can forward-declare it.
class LiveEdges final : public util::Live<std::vector<PinnedEdge>> {
public:
    LiveEdges() : util::Live<std::vector<PinnedEdge>>(std::make_shared<const std::vector<PinnedEdge>>()) {}
};

// Where the subscription files live under data_dir.
inline std::filesystem::path hub_edges_dir(const std::filesystem::path& data_dir) { return data_dir / "hub" / "edges"; }
inline std::filesystem::path edge_hub_pin(const std::filesystem::path& data_dir) { return data_dir / "edge" / "hub.pem"; }
inline std::filesystem::path edge_bootstrap_file(const std::filesystem::path& data_dir) { return data_dir / "edge" / "bootstrap.toml"; }

// "host:port" → Endpoint (names allowed), nullopt if malformed.
std::optional<Endpoint> parse_host_port(std::string_view s);

}  // namespace rampart::config
