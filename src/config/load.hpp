// config/load.hpp — TOML text → Config, or every problem at once.
// Contract: unknown keys, wrong types, bad values and inconsistencies are all collected
// as ConfigError{file, line, key, problem, fix}; load() returns them together (STYLE §6).
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.hpp"

namespace rampart::config {

struct ConfigError {
    std::string file;
    int line = 0;
    std::string key;       // "listeners[0].limits.max_message_size"
    std::string problem;
    std::string fix;       // what is allowed
    std::string text() const;   // "file:line: key: problem (fix)"
};

using LoadResult = std::variant<Config, std::vector<ConfigError>>;

LoadResult load_file(const std::string& path);
// `source` names the text in messages; `base_dir` anchors relative paths.
LoadResult load_text(std::string_view text, const std::string& source, const std::string& base_dir);

// The embedded default configuration (all-in-one on loopback), as TOML text.
std::string_view default_config_text();

}  // namespace rampart::config
