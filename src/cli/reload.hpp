// cli/reload.hpp — the whole configuration reloaded on SIGHUP (`systemctl reload rampart`).
// The file is loaded and checked by the same loader as at start; a file with errors keeps
// the running configuration and logs each error with its file:line (config.reload.failed).
// A good one becomes the generation new sessions use (sessions in progress finish on theirs):
// listeners' rules and addresses, domains, filters, quarantine and log settings apply at
// once; restart-only settings (config/reload.hpp) keep their running value and are logged
// (config.reload.needs_restart).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "util/log.hpp"
#include "util/result.hpp"

namespace asio::ssl {
class context;
}

namespace rampart::dns {
class Resolver;
}
namespace rampart::filter {
class BlockList;
class Chain;
}
namespace rampart::queue {
class Scheduler;
}
namespace rampart::replication {
class LiveReplica;
}
namespace rampart::server {
class Server;
}

namespace rampart::cli {

// What one configuration generation owns besides its configuration (server::Generation's
// `owned`): the filter chain built from it and the TLS contexts its listeners use.
struct GenerationParts {
    std::shared_ptr<filter::Chain> filters;
    std::shared_ptr<asio::ssl::context> tls, tls_client_auth;
};

// Makes the TLS contexts `cfg`'s listeners need that `parts` has not got yet; the error
// names the setting or file.
Result<Ok> add_tls_contexts(const config::Config& cfg, const std::filesystem::path& data_dir, GenerationParts& parts);

// server.log_level's value as a log level.
log::Level log_level_from(const std::string& name);

struct Reloader {
    std::string path;                          // -c FILE; empty: the embedded default (nothing to reload)
    std::string running_text;                  // the running configuration's TOML text
    server::Server* server = nullptr;
    std::unique_ptr<dns::Resolver>* dns_lists = nullptr;   // made on reload if DNS lists are added
    const filter::BlockList* block_list = nullptr;
    queue::Scheduler* scheduler = nullptr;
    std::filesystem::path data_dir;
    const replication::LiveReplica* replica = nullptr;   // role edge: the recipient filter's look-ups

    // Runs on the server's main context (Server::run's on_reload). Never throws. An error
    // says why the running configuration was kept (also logged); a failure to bind a new
    // address is logged only (the rest applies).
    Result<Ok> reload();
};

}  // namespace rampart::cli
