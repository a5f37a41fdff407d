// tracking/tracking_id.hpp — the message tracking id and its header, X-Rampart-Tracking-Id.
// Pure: bytes in, values out. The id is made where a message is received and carried in
// the header so it survives edge → hub → mailbox; who may set the header is the session's
// decision (policy::organisation_server, the trust rule of X-Rampart-SCL).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace rampart::tracking {

inline constexpr std::string_view kHeader = "X-Rampart-Tracking-Id";
// The longest id taken from a header; a longer or malformed value is replaced.
inline constexpr std::size_t kMaxIdLength = 64;

inline constexpr std::size_t kNewIdLength = 24;
// kNewIdLength lowercase hex digits: 11 of the time in milliseconds since the epoch, then
// 13 (52 bits) from the system's random source. The time first keeps the tracking store's
// indexes on tracking ids appending at their right edge (a random key dirtied a page of
// each index per message: issue 13); ids of one millisecond differ by their random part.
std::string new_tracking_id();
// 8 to kMaxIdLength characters of [A-Za-z0-9._-].
bool valid_tracking_id(std::string_view id);
// The value of the first X-Rampart-Tracking-Id field of the header block (trimmed), if any.
std::optional<std::string> read_header(std::string_view message);
// True if the header block has an X-Rampart-Tracking-Id field (any value).
bool has_header(std::string_view message);
// "X-Rampart-Tracking-Id: ID\r\n".
std::string header_line(std::string_view id);

}  // namespace rampart::tracking
