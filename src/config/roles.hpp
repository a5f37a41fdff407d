// config/roles.hpp — role presets (DESIGN.md §4): the defaults a listener starts from
// before its own keys are applied, and the listeners a role runs when the configuration
// names none. Also used by `rampart check` as the yardstick of best practice.
#pragma once

#include <array>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"

namespace rampart::config {

inline constexpr std::array<std::pair<std::string_view, Role>, 6> kRoles{{
    {"gateway", Role::Gateway}, {"mailbox", Role::Mailbox}, {"frontend", Role::Frontend},
    {"all-in-one", Role::AllInOne}, {"edge", Role::Edge}, {"hub", Role::Hub}}};

inline constexpr std::array<std::pair<std::string_view, ListenerKind>, 4> kListenerKinds{{
    {"smtp", ListenerKind::Smtp}, {"submission", ListenerKind::Submission},
    {"from-hub", ListenerKind::FromHub}, {"from-edge", ListenerKind::FromEdge}}};

std::string_view kind_name(ListenerKind k);

// A listener with every default of `role` for a listener of `kind`: access settings,
// tls, bind (loopback: nothing is exposed until the configuration says so) and
// remote_ranges. The name is left empty.
Listener preset_listener(Role role, ListenerKind kind = ListenerKind::Smtp);

// The listeners `role` runs when the configuration has no [[listeners]], named.
std::vector<Listener> default_listeners(Role role);

// The kind a [[listeners]] entry without `preset` takes: that of the role's default
// listener with the same name, else "smtp".
ListenerKind default_kind(Role role, std::string_view listener_name);

}  // namespace rampart::config
