// queue/spool_format.hpp — the on-disk form of one spooled message. Pure.
// A file is complete only if its "end" record follows exactly `size` message bytes; a
// file without it is crash debris. "done N" records appended later mark recipient N
// finished.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "queue/envelope.hpp"

namespace rampart::queue {

// Header text (up to and including the blank line). The message and end record follow.
std::string encode_header(const Envelope& env);
inline constexpr std::string_view kEndRecord = "end\n";
std::string encode_done(std::size_t recipient_index);

struct ParsedSpoolFile {
    Envelope envelope;            // recipients[i].done set from the done records
    std::size_t message_offset = 0;
};

// nullopt if the file is incomplete or malformed.
std::optional<ParsedSpoolFile> parse_spool_file(std::string_view content);

}  // namespace rampart::queue
