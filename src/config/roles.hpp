// config/roles.hpp — role presets (DESIGN.md §4): the defaults a listener starts from
// before its own keys are applied.
#pragma once

#include <array>
#include <string_view>
#include <utility>

#include "config/config.hpp"

namespace rampart::config {

inline constexpr std::array<std::pair<std::string_view, Role>, 6> kRoles{{
    {"gateway", Role::Gateway}, {"mailbox", Role::Mailbox}, {"frontend", Role::Frontend},
    {"all-in-one", Role::AllInOne}, {"edge", Role::Edge}, {"hub", Role::Hub}}};

// A listener with the role's access defaults; name and bind are left empty.
Listener preset_listener(Role role);

}  // namespace rampart::config
