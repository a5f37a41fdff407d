// filter/http_client.hpp — a minimal HTTP/1.1 client for local content-scanning daemons
// (rspamd's /checkv2): one POST per connection ("Connection: close"), plain TCP.
// Trusts nothing the server sends: the head is at most kHttpMaxHead bytes, the body at
// most the caller's `max_body` (by Content-Length, or read to the end of the connection);
// chunked or otherwise encoded bodies are refused. Promises an answer within `timeout` for
// the whole exchange — connect, send, reply — and never throws: a refused connection, a
// passed deadline, a closed socket or a garbled reply is an HttpResponse with ok = false.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <asio/awaitable.hpp>

#include "config/config.hpp"

namespace rampart::filter {

inline constexpr std::size_t kHttpMaxHead = 16 * 1024;

struct HttpResponse {
    bool ok = false;
    int status = 0;           // ok: 100..599
    std::string body;
    std::string error;        // !ok: what went wrong, printable
};

// The status line and header fields up to (not including) the empty line, parsed.
struct HttpHead {
    int status = 0;
    std::optional<std::size_t> content_length;
    std::string error;        // non-empty: the head is unusable
};
HttpHead parse_http_head(std::string_view head);

using HttpFields = std::vector<std::pair<std::string, std::string>>;

// POST `body` to http://address`target`; `fields` are sent as given (values must not hold
// CR or LF: such a field is dropped). Host, Content-Length and Connection are added.
asio::awaitable<HttpResponse> http_post(const config::Endpoint& address, std::string_view target, const HttpFields& fields,
                                        std::string_view body, std::chrono::milliseconds timeout, std::size_t max_body);

}  // namespace rampart::filter
