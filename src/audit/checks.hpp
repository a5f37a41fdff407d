// audit/checks.hpp — the checks of `rampart audit`, one function each; each opens its own
// connection(s), talks, and returns findings whose evidence is that connection's transcript.
// Trust and contract: audit.hpp (RCPT-only relay tests; DATA completed only with send_data).
#pragma once

#include <string>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "audit/audit.hpp"
#include "audit/report.hpp"

namespace rampart::audit {

struct Context {
    asio::any_io_executor ex;
    Options opt;                       // to_domain and to filled in
    std::vector<std::string> ehlo;     // the EHLO reply lines of the first connection
    std::vector<std::string> ehlo_transcript;
};

Finding check_auth_in_clear(const Context& ctx);
asio::awaitable<std::vector<Finding>> check_relay(const Context& ctx);
asio::awaitable<std::vector<Finding>> check_smuggling(const Context& ctx);
asio::awaitable<Finding> check_starttls_injection(const Context& ctx);
asio::awaitable<Finding> check_bare_lf(const Context& ctx);
asio::awaitable<std::vector<Finding>> check_vrfy_expn(const Context& ctx);
asio::awaitable<Finding> check_pipelining(const Context& ctx);

}  // namespace rampart::audit
