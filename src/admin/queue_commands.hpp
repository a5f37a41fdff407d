// admin/queue_commands.hpp — the queue tools' requests on the control socket:
//   list | show ID | retry ID | retry --all | hold ID | release ID | delete ID | bounce ID
// each optionally followed by --json. Answers with a status line ("ok" / "error") and a
// readable table or a JSON document. Runs on the scheduler's executor.
#pragma once

#include <string>

#include <asio/awaitable.hpp>

namespace rampart::queue {
class Scheduler;
class Spool;
}  // namespace rampart::queue

namespace rampart::admin {

asio::awaitable<std::string> queue_command(queue::Scheduler& scheduler, const queue::Spool& spool, std::string request);

// JSON string literal (quotes included) for any bytes: invalid UTF-8 and control bytes escaped.
std::string json_string(std::string_view s);

}  // namespace rampart::admin
