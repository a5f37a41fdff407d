// console/tracking_page.hpp — /console/tracking: the search of `rampart track` (id, sender,
// recipient, client, since, until, status) on this server's tracking store, and every
// event of each message found; refused mail says which rule or agent refused it and why
// (tracking/report.hpp, the functions the command uses). Read-only.
#pragma once

#include <string>
#include <vector>

#include "console/form.hpp"
#include "tracking/store.hpp"

namespace rampart::console {

// The store query the form's fields describe (times as `rampart track` takes them); an
// error names the field.
struct TrackingSearch {
    tracking::Query query;
    std::string error;
    bool any = false;   // a field was given (an empty form shows no search)
};
TrackingSearch tracking_search_from(const FormFields& fields, std::int64_t now_ms);
std::string tracking_form_html(const FormFields& fields);
// The messages found, one table each (most recent first).
std::string tracking_results_html(const std::vector<tracking::Message>& messages);

}  // namespace rampart::console
