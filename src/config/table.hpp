// config/table.hpp — internal to config/: the error collector and the entry point that
// applies a parsed TOML document through the settings table.
#pragma once

#include <string>
#include <vector>

#include <toml++/toml.h>

#include "config/load.hpp"

namespace rampart::config {

struct Ctx {
    std::string file;
    std::vector<ConfigError> errors;
    void error(int line, std::string key, std::string problem, std::string fix) {
        errors.push_back({file, line, std::move(key), std::move(problem), std::move(fix)});
    }
};

void apply_document(const toml::table& root, Config& c, Ctx& ctx);

}  // namespace rampart::config
