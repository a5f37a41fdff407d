// tests/unit/config/load_helpers.hpp — loading configuration text in unit tests.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "config/load.hpp"

namespace rampart::config::test {

// The loaded configuration; every load error is a test failure.
inline Config config_of(std::string_view text) {
    auto r = load_text(text, "test.toml", "/tmp");
    if (auto* e = std::get_if<std::vector<ConfigError>>(&r)) {
        for (auto& x : *e) ADD_FAILURE() << x.text();
        return {};
    }
    return std::get<Config>(r);
}

// The load errors (none if the text loads).
inline std::vector<ConfigError> errors_of(std::string_view text) {
    auto r = load_text(text, "test.toml", "/tmp");
    if (auto* e = std::get_if<std::vector<ConfigError>>(&r)) return *e;
    return {};
}

}  // namespace rampart::config::test
