// filter/clamd.hpp — a clamd client (ClamAV's daemon, its INSTREAM command): one scan of
// one message per connection. Trusts nothing clamd sends (clamd_reply.hpp parses it,
// bounded to kClamdMaxReply bytes). Promises an answer within `timeout` for the whole
// scan — connect, every write, the reply — and never throws: a connection refused, a
// deadline passed, a closed socket or a garbage reply is a ClamdReply of kind Error.
#pragma once

#include <chrono>
#include <string_view>

#include <asio/awaitable.hpp>

#include "config/config.hpp"
#include "filter/clamd_reply.hpp"

namespace rampart::filter {

// Chunks of the INSTREAM stream; clamd's own limit is StreamMaxLength for the whole stream
// (it answers "INSTREAM size limit exceeded. ERROR" past it: an Error here, fail closed).
inline constexpr std::size_t kClamdChunk = 64 * 1024;

// `address`: host:port (numeric host) or, with port 0, host = a unix socket path.
asio::awaitable<ClamdReply> clamd_scan(const config::Endpoint& address, std::string_view data,
                                       std::chrono::milliseconds timeout);

}  // namespace rampart::filter
