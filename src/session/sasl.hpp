// session/sasl.hpp — the SASL server side of a session (RFC 4954): PLAIN and LOGIN
// (RFC 4616) against the directory's password verifier, GSSAPI (RFC 4752) with the
// Kerberos keytab, EXTERNAL (RFC 4422 App. A) with the TLS client certificate.
// Trust: every response is the peer's. Contract: each mechanism ends in exactly one of
// auth_failed / auth_succeeded (the brakes on stolen logins and the smtp.auth log line),
// or in a reply that is not a credential failure (cancel, syntax, unavailable); a
// lockout is checked before credentials are, and a correct password during it fails.
// Every credential check runs as a policy::Brakes::Attempt begun just before it (the
// lockout check and a slot in one step) and ended by the outcome; a success is answered
// 235 only if no lockout began while it was checked.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <asio/awaitable.hpp>

#include "policy/brakes.hpp"
#include "policy/principal.hpp"

namespace asio::ssl {
class context;
}
namespace rampart::smtp {
struct Command;
}

namespace rampart::session {

struct SessionState;

class Authenticator {
public:
    explicit Authenticator(SessionState& s) : s_(s) {}

    // The EHLO AUTH keyword's mechanisms usable now, e.g. " GSSAPI PLAIN LOGIN"; "" if none.
    std::string mechanisms() const;
    bool gssapi_usable() const;
    // AUTH command (the caller has checked EHLO, no transaction, not yet authenticated).
    asio::awaitable<void> on_auth(const smtp::Command& cmd);

private:
    struct AuthNote {
        std::string user;          // the login name given (PLAIN/LOGIN user, Kerberos principal); "" if none
        std::string principal;     // the identity it mapped to, if known
        std::string reason;        // why it failed, or how it was mapped
        std::string fingerprint;   // EXTERNAL: the client certificate's SHA-256
    };
    bool basic_usable() const;
    bool external_usable() const;
    asio::awaitable<void> on_basic(std::string mech, const std::string& initial);
    asio::awaitable<void> on_gssapi(const std::string& initial);
    asio::awaitable<void> on_external(const std::string& initial);
    // One SASL continuation: sends "334 challenge", returns the decoded answer, or nullopt
    // after replying to a cancel ("*"), a bad base64 line or a closed connection.
    asio::awaitable<std::optional<std::string>> sasl_read(const std::string& challenge);
    // The first response (RFC 4954 §4): on the AUTH line ("=" is empty) or after an empty 334.
    asio::awaitable<std::optional<std::string>> first_response(const std::string& initial);
    bool auth_blocked(std::string_view mech, const std::string& user);
    // Begins the credential check (policy::Brakes::begin_attempt) for the client address
    // and `user` ("" if not known yet), waiting (bounded) while as many checks are in
    // flight as failures may still happen before the lockout; false after answering 454
    // (locked out, or still no turn after the wait).
    asio::awaitable<bool> begin_check(std::string_view mech, const std::string& user);
    void refuse_locked(std::string_view mech, const std::string& user, const std::string& key, std::chrono::milliseconds left);
    asio::awaitable<void> auth_failed(std::string_view mech, AuthNote note);
    void auth_succeeded(std::string_view mech, policy::Principal principal, AuthNote note);

    SessionState& s_;
    policy::Brakes::Attempt attempt_;   // the check in flight of the current AUTH, if any
};

}  // namespace rampart::session
