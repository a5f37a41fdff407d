// mime/transfer_decoder.hpp — Content-Transfer-Encoding decoding (RFC 2045 §6): base64,
// quoted-printable, and identity for 7bit/8bit/binary, streamed to a sink in bounded
// chunks so a caller can sniff, hash or scan a part without holding all of it.
// Trust: bodies are hostile. Decoding is lenient (like every mail client: what a user would
// see is what a filter must see) but reports every irregularity in DecodeStatus::bad.
// Memory: one 16 KiB buffer per call; time linear in the body. Pure.
#pragma once

#include <cstddef>
#include <functional>
#include <limits>
#include <string>
#include <string_view>

#include "mime/structure.hpp"

namespace rampart::mime {

struct DecodeStatus {
    std::size_t bytes = 0;    // decoded bytes given to the sink
    bool bad = false;         // invalid base64/QP seen (decoded leniently anyway)
    bool truncated = false;   // stopped at max_bytes or because the sink said stop
};

// Receives decoded bytes; return false to stop early. Chunks are at most 16 KiB and only
// valid during the call.
using Sink = std::function<bool(std::string_view chunk)>;

inline constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();

// Decodes `body` (the encoded bytes) as `encoding`; at most max_bytes reach the sink.
DecodeStatus decode(std::string_view body, Encoding encoding, const Sink& sink, std::size_t max_bytes = unlimited);

// Decodes one part of the message `input` the structure was parsed from.
DecodeStatus decode(std::string_view input, const Part& part, const Sink& sink, std::size_t max_bytes = unlimited);

// The decoded content of a part, at most max_bytes of it.
std::string decode_to_string(std::string_view input, const Part& part, std::size_t max_bytes,
                             DecodeStatus* status = nullptr);

// Base64 of `text` appended to `out`, at most max_bytes (used by RFC 2047 B words too).
DecodeStatus decode_base64_to(std::string_view text, std::string& out, std::size_t max_bytes);

}  // namespace rampart::mime
