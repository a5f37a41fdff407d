// console/explain_page.hpp — /console/explain: the form of `rampart explain` (listener,
// client address, user, sender, recipients, SMTPUTF8) and its trace as a table. The trace is
// the one the command prints (Services::explain runs cli's run_explain in-process, the
// live-only steps evaluated from this server's state). Read-only: a GET form.
#pragma once

#include <string>
#include <vector>

#include "console/explain_service.hpp"
#include "console/form.hpp"

namespace rampart::console {

// The request the form's fields describe (recipients: one per line; blank lines dropped).
ExplainRequest explain_request_from(const FormFields& fields);
// The form, `listeners` in the select, filled with `r`.
std::string explain_form_html(const std::vector<std::string>& listeners, const ExplainRequest& r);
// The answer: the error, or the replies a client would read and every rule step.
std::string explain_result_html(const ExplainResult& r);

}  // namespace rampart::console
