// delivery/internal_headers.hpp — outbound through the edge (docs/perimeter.md): the traces
// of internal hosts removed from a message before it leaves for the Internet, so that an
// outside reader sees the edge only ([edge] strip_internal_headers, role edge, route mx).
// Pure: bytes in, bytes out; the body is never touched.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace rampart::delivery {

// Header fields removed wherever they are (case-insensitive): they name inside hosts or
// client addresses. docs/perimeter.md lists them; a unit test keeps the two in step.
inline constexpr std::array<std::string_view, 8> kInternalTraceFields{
    "X-Originating-IP", "X-Originating-Host", "X-Mailer-Host", "X-Sender-IP",
    "X-Client-IP",      "X-Forwarded-For",    "X-Source-IP",   "X-MS-Exchange-Organization-OriginalClientIPAddress"};

// `message` (CRLF lines, header then body) without the Received fields below the first one
// added by `own_hostname` ("by HOST (rampart)": the edge's receipt from the hub; those below
// it were added inside) and without kInternalTraceFields. Our own Received field, when it
// records receipt from an organisation server, names that server as "internal.invalid". Without a Received field of our
// own, every Received field is kept (nothing says where the inside begins). `removed`, if
// given, receives the number of fields removed.
std::string strip_internal_headers(std::string_view message, std::string_view own_hostname, std::size_t* removed = nullptr);

}  // namespace rampart::delivery
