// console/directory_page.hpp — /console/directory: users (addresses, groups with nested
// memberships resolved, whether they may sign in to the console), groups (direct members
// and every user in them through nesting) and organisation servers (addresses, certificate
// fingerprint, Kerberos principals), from the live directory (file or LDAP). Read-only.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "directory/directory.hpp"

namespace rampart::console {

// Every user who is in `group`, directly or through nested groups, by name (sorted).
std::vector<std::string> users_in_group(const directory::Directory& d, std::string_view group);
// The three tables; `console_group`: the group whose members may sign in to the console.
// Each table is paged by its own field (users_page, groups_page, servers_page).
std::string directory_html(const directory::Directory& d, std::string_view console_group, std::optional<std::string_view> users_page,
                           std::optional<std::string_view> groups_page, std::optional<std::string_view> servers_page);

}  // namespace rampart::console
