// net/tls.hpp — TLS contexts for listeners (server) and delivery (client), and the
// self-signed certificate made on first start when none is configured.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "util/result.hpp"

namespace asio::ssl {
class context;
}

namespace rampart::net {

// Loads tls.certificate/tls.key, or (both empty) creates or reuses data_dir/tls/{cert,key}.pem.
Result<std::shared_ptr<asio::ssl::context>> make_server_context(const config::Config& cfg);

// `verify`: check the peer's chain against the system store and the host name.
std::shared_ptr<asio::ssl::context> make_client_context(bool verify);

// Writes a new EC P-256 key and a self-signed certificate for `hostname` (valid 10 years).
Result<Ok> write_self_signed(const std::filesystem::path& cert, const std::filesystem::path& key, const std::string& hostname);

}  // namespace rampart::net
