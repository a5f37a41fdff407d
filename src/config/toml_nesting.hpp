// config/toml_nesting.hpp — a bound on how deep a TOML document nests, checked on the raw
// text before toml++ sees it. toml++ bounds nested arrays and inline tables (256) but not
// dotted keys or table headers: `a.a.a…` or `[a.a.a…]` 50,000 levels deep overflows the
// stack inside the library. Used for the configuration file and the directory file.
// Pure: text in, the first offending line out.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace rampart::config {

// rampart's own files nest at most a handful of levels ([listeners] → limits → value).
inline constexpr std::size_t kMaxTomlNesting = 64;

struct TooDeep {
    int line = 0;             // 1-based line where the limit was passed
    std::size_t limit = 0;
};

// Counts every level a value can sit under: table-header segments ([a.b] and [[a.b]]),
// dotted-key segments, and open arrays and inline tables, outside strings and comments.
// Returns where the count first passes `limit`, or nullopt. Not a validator: text that is
// not TOML is left to the parser (it only has to stay shallow to reach it).
std::optional<TooDeep> find_excessive_nesting(std::string_view text, std::size_t limit = kMaxTomlNesting);

// "nested more than 64 levels deep (…)" and what to do: one wording for both files.
std::string too_deep_problem(const TooDeep& t);
std::string_view too_deep_fix();

}  // namespace rampart::config
