// config/reload.hpp — which settings a running server can take on reload (SIGHUP) and which
// need a restart. Pure: two loaded configurations and their TOML texts in, the next
// configuration with every restart-only setting put back to its running value out.
// Live: the listeners (rules, limits, addresses), domains, the filter tables, quarantine,
// transport rules, server.role, server.log_level and server.log_file. Restart-only: the rest
// of [server] (data_dir, hostname, threads, user...), [directory] (the directory's contents
// reload anyway), [tls], [[send_connectors]], [queue], [dns], [kerberos], [delivery],
// [back_pressure] and [reputation] — objects built once at start hold them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace rampart::config {

// The restart-only settings whose text differs between `running_text` and `next_text`
// ("server.data_dir", "queue"), each put back in `next` to its value in `running`. Both
// texts must have loaded (they parse).
std::vector<std::string> keep_restart_only(const Config& running, std::string_view running_text, Config& next,
                                           std::string_view next_text);

}  // namespace rampart::config
