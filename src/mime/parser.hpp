// mime/parser.hpp — RFC 2045/2046 structure of a message: nested multiparts and
// message/rfc822 (and RFC 6532 message/global) parts, to Limits::max_depth.
// Input: the whole message as spooled (CRLF line ends; LF alone is accepted and flagged),
// e.g. an mmap of the spool file: never assumed NUL-terminated, never copied.
// Contract: any input yields a Structure (parts[0] is the message) whose offsets lie inside
// the input; what could not be read as MIME is recovered as well as it can be and flagged
// (Structure::malformed(), DESIGN.md: a filter may refuse it with 554 5.6.0). One pass over
// the input (each line is looked at once; a line starting with "--" is compared with the
// boundaries of its enclosing multiparts, at most max_depth of them), so time is linear and
// memory is bounded by Limits, whatever the nesting or the near-miss boundary lines.
// Leaves are decoded once (Limits::validate_encodings) to flag bad base64/QP and their first
// Limits::sniff_bytes are sniffed. Pure.
#pragma once

#include <string_view>

#include "mime/structure.hpp"

namespace rampart::mime {

Structure parse(std::string_view message, const Limits& limits = {});

}  // namespace rampart::mime
