// config/units.hpp — sizes ("35MiB") and durations ("10m") as written in the config.
// Pure functions; errors name what is allowed so the config loader can pass them on.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rampart::config {

// "1024", "64KiB", "35MiB", "1GiB", "10KB", "5MB" (KB/MB/GB are decimal). Case-insensitive
// unit; whole numbers only. nullopt on anything else, including overflow.
std::optional<std::uint64_t> parse_size(std::string_view text);
// "30s", "10m", "2h", "1d", "500ms". A bare number is not a duration (ambiguous).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

std::string format_size(std::uint64_t bytes);
std::string format_duration(std::chrono::milliseconds d);

}  // namespace rampart::config
