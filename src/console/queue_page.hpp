// console/queue_page.hpp — /console/queue: the queue by state (filter by state, sender,
// recipient; paged), a page per message (envelope, headers, each recipient's last attempt)
// and the actions hold, release, retry now, delete and bounce, for one message or a
// selection. Actions are the queue tools' own requests (admin::queue_command, as the control
// socket runs them), POST only, each audit_change'd.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "console/console.hpp"
#include "console/html.hpp"
#include "queue/scheduler.hpp"

namespace rampart::console {

struct QueueFilter {
    std::string state;       // "" any; "ready", "active", "deferred", "held", "quarantined"
    std::string sender;      // substring, case-insensitive
    std::string recipient;   // substring of any recipient, case-insensitive
};
bool queue_matches(const queue::MessageInfo& m, const QueueFilter& f);
// The messages `shown` (already filtered and paged) as a table with a checkbox each and the
// action buttons for the selection. `quarantine`: the quarantine's columns and actions.
std::string queue_table_html(const std::vector<const queue::MessageInfo*>& shown, const Viewer& viewer, std::int64_t now,
                             bool quarantine);
// The message page: envelope, recipients with their last result, headers, actions.
std::string queue_message_html(const queue::MessageInfo& m, std::string_view headers, const Viewer& viewer, std::int64_t now);
// The verbs a POST may ask for ("hold", ...); quarantine: "release", "delete".
bool queue_action_allowed(std::string_view verb, bool quarantine);

// POST handler of /console/queue/action and /console/quarantine/action: `action` and the `id`s.
asio::awaitable<admin::HttpResponse> queue_action(const PageRequest& req, bool quarantine);
// GET handler of /console/quarantine/message: the message page with a text preview.
asio::awaitable<admin::HttpResponse> quarantine_message_page(const PageRequest& req);

}  // namespace rampart::console
