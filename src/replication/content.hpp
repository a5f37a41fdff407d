// replication/content.hpp — what the hub replicates, built from its loaded configuration and
// a directory snapshot (replication/codec.hpp lists the entry forms):
//   config:     every accepted domain with its type, and a route per accepted domain to the
//               hub's own address for edge mail (listener "from-edge", else the first listener);
//   recipients: the organisation key, the HMAC of every address the directory accepts (users'
//               addresses, aliases) and of every user's safe senders per address.
// Pure: values in, sorted entries out.
#pragma once

#include <set>
#include <string>

#include "config/config.hpp"
#include "directory/directory.hpp"

namespace rampart::replication {

std::set<std::string> config_entries(const config::Config& cfg);
std::set<std::string> recipient_entries(const directory::Directory& dir, const std::string& org_key);

}  // namespace rampart::replication
