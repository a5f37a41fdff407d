// audit/audit.hpp — `rampart audit HOST[:PORT]`: probes any SMTP server for open relaying,
// SMTP smuggling, STARTTLS command injection, AUTH in clear, bare-LF commands, VRFY/EXPN
// disclosure and unauthenticated pipelining (docs/audit.md says what each check sends).
// Trust: the server is a stranger; see dialogue.hpp for the caps and timeouts.
// Contract: safe against production by default: relay tests send RCPT only (then RSET,
// never DATA); the pipelining test closes the connection inside DATA, so nothing is
// delivered; only with `send_data` does the smuggling test send real messages, each to
// `to`. Every read and write is bounded by `timeout`, and the number of connections and
// commands is fixed, so the whole audit is bounded.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "audit/report.hpp"
#include "util/result.hpp"

namespace rampart::audit {

struct Options {
    std::string host;
    std::uint16_t port = 25;
    std::string helo = "rampart-audit.example";
    // The sender of the relay and pipelining tests: an address outside the server's domain.
    std::string from = "rampart-audit@example.org";
    // The server's own domain; empty: taken from the greeting (domain_from_greeting).
    std::string to_domain;
    // A recipient the server accepts (pipelining and smuggling); empty: postmaster@to_domain.
    std::string to;
    // The domain the relay battery tries to relay to.
    std::string foreign_domain = "example.net";
    // A domain the auditor controls whose MX points at the server (and which the server
    // does not receive for); empty: the MX trick is not tried.
    std::string mx_domain;
    bool send_data = false;   // allow the smuggling test to send real messages to `to`
    std::chrono::milliseconds timeout{std::chrono::seconds(10)};
};

// Runs every check; an error (exit 2) when the server cannot be reached, does not greet
// with 220, or its domain is unknown and no --to-domain was given.
asio::awaitable<Result<Report>> run(asio::any_io_executor ex, Options options);

}  // namespace rampart::audit
