// replication/transport.hpp — replication over mutual TLS, hub → edge only.
// The hub (HubSync) connects to each edge in data_dir/hub/edges/*.toml (written by
// `rampart hub add-edge`), presents its [tls] certificate, checks that the edge's
// certificate is the one pinned in the edge file, and sends framed requests ("LEN\n" then
// LEN bytes): a hello ("HELLO 1 HUB SIGNKEYHEX SECRET"), its certificate (PEM), then one
// codec message per kind, each answered by the edge. The edge (EdgeSync, on [edge]
// sync_bind) never writes anything but those answers.
// Trust on the edge: before the first push nothing is pinned, and the hub must prove the
// bootstrap secret (SHA-256 equal to bootstrap.toml's secret_sha256, before `expires`) and
// present the certificate it sent; then hub.pem and hub_sign.pub are pinned and the secret
// retired. Afterwards only the pinned certificate, hub name and signing key are accepted;
// every message's Ed25519 signature is checked before apply. Refusals are logged
// (edge.sync.refused) and the last good replica kept.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "config/config.hpp"
#include "directory/directory.hpp"
#include "replication/replica.hpp"
#include "util/result.hpp"

namespace rampart::replication {

// What the edge keeps besides the replica: data_dir/edge/status.toml.
struct EdgeStatus {
    std::string hub_name;
    std::int64_t last_contact = 0;          // unix seconds of the last accepted hello; 0: never
    std::int64_t last_sync[2] = {0, 0};     // per Kind: last applied message
    std::string last_error;                 // the last refusal or failure, "" if none since
    std::int64_t last_error_time = 0;
};
Result<EdgeStatus> read_edge_status(const std::filesystem::path& data_dir);

class EdgeSync {
public:
    EdgeSync(asio::any_io_executor ex, const config::Config& cfg, std::filesystem::path data_dir);
    ~EdgeSync();
    // Loads the replica, binds [edge] sync_bind, starts accepting and the unreachable watch.
    Result<Ok> open();
    void close();
    const LiveReplica& replica() const;
    // Called on the executor right after the first push pinned the hub (data_dir/edge/hub.pem):
    // serve adds the hub to the directory as an organisation server (from-hub listener).
    void on_hub_pinned(std::function<void()> callback);

    struct Impl;   // public so the coroutines in transport.cpp can name it

private:
    std::shared_ptr<Impl> impl_;
};

class HubSync {
public:
    using DirectorySource = std::function<std::shared_ptr<const directory::Directory>()>;
    HubSync(asio::any_io_executor ex, const config::Config& cfg, std::filesystem::path data_dir, DirectorySource directory);
    ~HubSync();
    // Keys made or loaded; the periodic pushes started ([hub] config_interval, recipients_interval).
    Result<Ok> open();
    void close();
    // Pushes both kinds to every edge now; one line per edge ("EDGE: ok config N ..." or
    // "EDGE: failed: WHY"), then the control-socket status line first: "ok" or "error".
    asio::awaitable<std::string> sync_now();

    struct Impl;   // public so the coroutines in transport.cpp can name it

private:
    std::shared_ptr<Impl> impl_;
};

// RFC 3339 UTC "2026-12-01T22:52:03Z" and back (Z or +00:00; -1 if unreadable).
std::string rfc3339(std::int64_t unix_seconds);
std::int64_t parse_rfc3339(std::string_view text);

}  // namespace rampart::replication
