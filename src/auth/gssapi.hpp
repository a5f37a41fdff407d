// auth/gssapi.hpp — the server side of SASL GSSAPI (RFC 4752) with MIT Kerberos: context
// establishment against the configured keytab, then the security-layer negotiation.
// Trust: tokens come from the peer; GSS-API checks them against the keytab's keys. The
// acceptor accepts only tickets for SERVICE/HOSTNAME ([kerberos] service, server.hostname)
// and only the Kerberos 5 mechanism.
// Blocking: accept() reads the keytab and the replay cache (file I/O, file locks) and may
// resolve the host name as krb5.conf says; sessions call accept_async(), which runs it on
// a small background pool and resumes on the caller's executor. wrap/unwrap are pure CPU.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <asio/awaitable.hpp>

#include "auth/gssapi_layer.hpp"
#include "config/config.hpp"

namespace rampart::auth {

struct GssapiSettings {
    std::filesystem::path keytab;   // absolute
    std::string service;            // "smtp"
    std::string hostname;           // server.hostname
};

// The settings a configuration gives; nullopt when integrated authentication is unusable
// (no keytab configured).
std::optional<GssapiSettings> gssapi_settings(const config::Config& cfg);

struct GssapiStep {
    enum class Kind {
        Continue,      // send `token` as a 334 challenge and feed the answer to accept()
        Complete,      // context established; send `token` first if it is not empty
        Failed,        // the client's token was refused: 535
        Unavailable,   // our side is broken (keytab unreadable, no key): 454
    };
    Kind kind = Kind::Failed;
    std::string token;
    std::string error;   // GSS-API status text, for the log only
};

// One authentication attempt. Not copyable; each step after the previous one returned.
class GssapiAcceptor {
public:
    explicit GssapiAcceptor(GssapiSettings settings);
    ~GssapiAcceptor();
    GssapiAcceptor(const GssapiAcceptor&) = delete;
    GssapiAcceptor& operator=(const GssapiAcceptor&) = delete;

    GssapiStep accept(std::string_view token);                    // blocking
    asio::awaitable<GssapiStep> accept_async(std::string token);  // accept() off the I/O thread

    // After Complete: the client's principal, "alice@EXAMPLE.TEST".
    const std::string& client_name() const;
    // After Complete: the wrapped RFC 4752 offer ("no security layer", size 0).
    std::optional<std::string> wrap_offer(std::string& error);
    // After Complete: unwraps and decodes the client's choice.
    std::optional<LayerChoice> unwrap_choice(std::string_view wrapped, std::string& error);

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;   // shared with a background step still running
};

// Problems that leave integrated authentication unusable or broken, for `rampart check`
// and the start-up log: a listener with auth.integrated but no keytab; a keytab that
// cannot be read or holds no key for SERVICE/HOSTNAME. Empty when all is well.
std::vector<std::string> integrated_warnings(const config::Config& cfg);

}  // namespace rampart::auth
