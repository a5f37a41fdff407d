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
// `request_client_certificate` (listeners with auth.server): ask for, but do not require, a
// client certificate and accept any chain in the handshake (the handshake still proves the
// client holds the key). The session decides by the certificate's fingerprint.
Result<std::shared_ptr<asio::ssl::context>> make_server_context(const config::Config& cfg,
                                                                bool request_client_certificate = false);

struct ClientTlsSettings {
    bool verify = false;                      // chain and host name checked (name per connection)
    std::filesystem::path ca_file;            // empty: the system store
    std::filesystem::path certificate;        // client certificate presented; empty: none
    std::filesystem::path key;
};

// Context for delivery; errors name the file that could not be loaded.
Result<std::shared_ptr<asio::ssl::context>> make_client_context(const ClientTlsSettings& settings);
// `verify`: check the peer's chain against the system store (the name is checked per
// connection, see SocketStream::connect_tls).
std::shared_ptr<asio::ssl::context> make_client_context(bool verify);

// Writes a new EC P-256 key and a self-signed certificate for `hostname` (valid 10 years).
Result<Ok> write_self_signed(const std::filesystem::path& cert, const std::filesystem::path& key, const std::string& hostname);

}  // namespace rampart::net
