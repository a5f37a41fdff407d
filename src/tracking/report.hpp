// tracking/report.hpp — what `rampart track` shows: times as given on its command line,
// and the messages found in the store as text or JSON. Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tracking/store.hpp"

namespace rampart::tracking {

// RFC 3339 ("2026-12-01T17:00:00Z", "2026-12-01T18:00:00.5+01:00", "2026-12-01" at 00:00
// UTC) or a time before `now_ms` ("1h", "30m", "2d", "90s"). Unix milliseconds.
std::optional<std::int64_t> parse_time(std::string_view text, std::int64_t now_ms);
// "2026-12-01T17:00:00.123Z".
std::string format_time(std::int64_t ms);
// How the event reads in a report: "received", "RCPT refused", "delivery attempt", ...
std::string event_label(const Event& e);
// The event that refused the message (the first refusal), if any.
const Event* refusal(const Message& m);
// One block per message, every event in order; refused mail says by which rule or agent and why.
std::string render_text(const std::vector<Message>& messages);
// [{"tracking_id", "status": [...], "refused_by": {...} | null, "events": [{...}]}]
std::string render_json(const std::vector<Message>& messages);

}  // namespace rampart::tracking
