// auth/external.hpp — SASL EXTERNAL (RFC 4422 App. A) for organisation servers: the
// credential is the TLS client certificate the server presented in the handshake.
// Trust: the certificate is matched by its SHA-256 fingerprint against the directory's
// [[servers]] (certificate pinning; no CA decides). A server entry with `addresses` is
// also bound to those client addresses or prefixes. The handshake already proved that
// the client holds the certificate's key.
// Pure: takes values, returns an outcome; the session logs and speaks SMTP.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "net/certificate.hpp"
#include "net/cidr.hpp"
#include "policy/principal.hpp"

namespace rampart::directory {
class Directory;
struct Server;
}  // namespace rampart::directory

namespace rampart::auth {

// The directory server this certificate and client address identify, or null with the
// reason in `why` (for logs: names the fingerprint, never reaches the client).
const directory::Server* server_for_certificate(const directory::Directory& dir,
                                                const std::optional<net::PeerCertificate>& cert,
                                                const net::IpAddress& client, std::string* why = nullptr);

struct ExternalOutcome {
    std::optional<policy::Principal> principal;   // set on success; unset: the credentials are invalid
    std::string reason;                           // for the log line
};

// `authzid`: the decoded SASL response: empty (act as the certificate's server), the
// server's name, or "server:NAME". Anything else is refused (RFC 4422 §3.4.1).
ExternalOutcome authenticate_external(const directory::Directory& dir, const std::optional<net::PeerCertificate>& cert,
                                      const net::IpAddress& client, std::string_view authzid);

}  // namespace rampart::auth
