// net/tls.hpp — TLS contexts for listeners (server) and delivery (client), and the
// self-signed certificate made on first start when none is configured.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "util/result.hpp"

namespace asio::ssl {
class context;
}

namespace rampart::net {

// What a listener's TLS is made of ([tls] with paths resolved; config/ fills it).
struct ServerTlsSettings {
    std::filesystem::path certificate;        // empty: self-signed in `self_signed_dir`
    std::filesystem::path key;
    std::filesystem::path self_signed_dir;    // data_dir/tls
    std::string hostname;                     // the self-signed certificate's name
    bool tls13_only = false;                  // min_version = "TLSv1.3"
};

// Loads the certificate and key, or (certificate empty) creates or reuses
// self_signed_dir/{cert,key}.pem. `request_client_certificate` (listeners with
// auth.server): ask for, but do not require, a client certificate and accept any chain in
// the handshake (the handshake still proves the client holds the key). The session
// decides by the certificate's fingerprint.
Result<std::shared_ptr<asio::ssl::context>> make_server_context(const ServerTlsSettings& settings,
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
