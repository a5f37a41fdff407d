// admin/http_request.hpp — the admin listener's HTTP/1.1 request parser (RFC 9112), pure:
// bytes in, a request or the status to refuse it with out. Fuzzed (tests/fuzz/http_request_fuzz.cpp).
// Trust: the bytes come from anyone who can reach the admin listener: every size is
// bounded (head, header count, body), nothing is read past what was given, and anything
// not plainly valid is refused, never guessed at (no obs-fold, no bare LF, no
// Transfer-Encoding, one Content-Length, Host required in HTTP/1.1).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rampart::admin {

struct HttpLimits {
    std::size_t max_head = 8192;         // request line and header fields, CRLFCRLF included
    std::size_t max_headers = 64;
    std::size_t max_body = 64 * 1024;
};

struct HttpRequest {
    std::string method;                  // "GET"
    std::string target;                  // "/metrics?x=1" (origin-form)
    std::string path;                    // "/metrics"
    std::string query;                   // "x=1"
    int minor_version = 1;               // HTTP/1.minor_version
    std::vector<std::pair<std::string, std::string>> headers;   // names as sent, values trimmed
    std::string body;
    std::string client;                  // the peer's address (set by HttpServer, not parsed)
    // The first field of that name (case-insensitive), or nullopt.
    std::optional<std::string_view> header(std::string_view name) const;
};

struct HttpParse {
    enum class Status { Incomplete, Complete, Bad } status = Status::Incomplete;
    HttpRequest request;                 // Complete
    std::size_t consumed = 0;            // Complete: bytes of head and body
    int error_status = 0;                // Bad: 400, 413, 431, 501 or 505
    std::string error;                   // Bad: why, for the response body and the log
};

// Parses the request at the start of `data`. Incomplete: more bytes are needed (and within
// the limits, so the caller may read on).
HttpParse parse_http_request(std::string_view data, const HttpLimits& limits = {});

}  // namespace rampart::admin
