// admin/block_commands.hpp — `rampart block` requests on the control socket, applied to the
// running server's dynamic block list (filter/block_list.hpp) at once:
//   block add PREFIX SECONDS REASON...   (SECONDS: expiry from now; 0: until removed)
//   block del PREFIX
//   block list [--json]
// Answers with a status line ("ok" / "error") and text or JSON, as the queue tools do.
#pragma once

#include <string>

namespace rampart::filter {
class BlockList;
}

namespace rampart::admin {

// True for a request meant for block_command.
bool is_block_request(std::string_view request);
std::string block_command(filter::BlockList& list, const std::string& request);
// The entries as the answer to "block list" (also used by the CLI when no server runs).
std::string block_list_text(const filter::BlockList& list, bool json);

}  // namespace rampart::admin
