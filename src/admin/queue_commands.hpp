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
struct Recipient;
}  // namespace rampart::queue

namespace rampart::admin {

asio::awaitable<std::string> queue_command(queue::Scheduler& scheduler, const queue::Spool& spool, std::string request);

// A recipient's state as the queue tools show it: "pending", "deferred", "delivered", "failed".
std::string recipient_state(const queue::Recipient& r);
// The header section of a spooled message (CRLF line ends, the blank line dropped); "" if unreadable.
std::string message_headers(const queue::Spool& spool, const std::string& id);

// JSON string literal (quotes included) for any bytes: invalid UTF-8 and control bytes escaped.
std::string json_string(std::string_view s);

}  // namespace rampart::admin
