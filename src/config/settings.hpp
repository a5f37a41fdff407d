// config/settings.hpp — the one table of settings: key, type, default, documentation.
// The loader applies values through it; `rampart settings` prints it as the reference in
// docs/configuration.md (a test keeps the two identical).
#pragma once

#include <string>

namespace rampart::config {

// Markdown reference of every key, section by section.
std::string settings_reference();

}  // namespace rampart::config
