// policy/explain.hpp — `rampart explain`: runs the live decision functions with a Trace
// and renders every rule evaluated. Pure: facts and addresses in, text out. The reply
// text printed is the one a live client would read, because it comes from the same
// Decision (DESIGN.md §3, STYLE.md §4).
#pragma once

#include <string>
#include <vector>

#include "policy/access.hpp"

namespace rampart::policy {

struct ExplainQuestion {
    SessionFacts facts;
    std::string mail_from;                 // with or without <>; "" or "<>" is the null sender
    std::vector<std::string> rcpts;
};

struct ExplainAnswer {
    std::string text;                      // the trace, one line per rule
    bool all_accepted = false;             // exit status 0 when true
};

ExplainAnswer explain(const ExplainQuestion& q);

}  // namespace rampart::policy
