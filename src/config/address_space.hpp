// config/address_space.hpp — which accepted domain and which send connector a recipient
// domain belongs to: the one place both questions are answered. Pure.
// Most specific wins: an exact domain beats "*.parent", a longer suffix beats a shorter
// one, and "*" is the last resort (DESIGN.md §2 send connector).
#pragma once

#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace rampart::config {

// `domain` lower-case without brackets; address literals never match a named space, only "*".
const SendConnector* find_connector(const std::vector<SendConnector>& connectors, std::string_view domain);

// The accepted domain named `domain` (lower-case; an address literal "[...]" never is one),
// or nullptr: a recipient there is a relay (DESIGN.md §2).
const Domain* accepted_domain(const std::vector<Domain>& domains, std::string_view domain);

// Specificity of `space` for `domain`: -1 no match, 0 for "*", higher is more specific.
int address_space_match(std::string_view space, std::string_view domain);

}  // namespace rampart::config
