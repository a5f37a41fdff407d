// filter/icap.hpp — an ICAP client (RFC 3507) for virus scanners: c-icap's virus_scan service
// and the commercial scanners that speak ICAP. One scan of one message per connection: the
// message goes out as the body of an encapsulated HTTP response (RESPMOD, the default) or of
// an HTTP POST request (REQMOD, for scanners that only scan requests), chunked, with
// "Allow: 204" so a clean message comes back as a bare 204. By default no preview is sent (a
// virus scanner needs the whole message anyway) and no OPTIONS asked; with `preview = true`
// the scan's connection first asks OPTIONS and, if the server names a Preview size, sends
// that much ("0; ieof" when it is all), then the rest after the server's "100 Continue".
// Trusts nothing the server sends (icap_reply.hpp parses it, bounded). Promises an answer
// within `timeout` for the whole scan — connect, send, reply — and never throws: a connection
// refused, a deadline passed, a closed socket or a garbage reply is a ClamdReply of kind Error.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <asio/awaitable.hpp>

#include "config/config.hpp"
#include "filter/clamd_reply.hpp"

namespace rampart::filter {

inline constexpr std::size_t kIcapChunk = 64 * 1024;

// Everything before the first chunk of the body: the ICAP request line and headers and the
// encapsulated HTTP header(s). `host` is the Host header's value ("127.0.0.1:1344").
// `preview`: the Preview header's size, if a preview is sent.
std::string icap_request_head(const std::string& host, const std::string& service, bool reqmod, std::size_t body_size,
                              std::optional<std::size_t> preview = std::nullopt);

// `engine.address`: host:port (numeric host) or, with port 0, host = a unix socket path;
// `engine.service`, `engine.reqmod` and `engine.preview` say what to ask for and how.
asio::awaitable<ClamdReply> icap_scan(const config::AntivirusEngine& engine, std::string_view data);

}  // namespace rampart::filter
