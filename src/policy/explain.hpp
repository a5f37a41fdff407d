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

// What a live session asks besides the access rules at the same events: the filter chain
// (filter/explain.hpp implements it with the live ChainRun). Each call appends its trace
// lines to `out` and returns its Decision (Pass: no objection). The live session asks the
// connect stage before the access rules, and the MAIL and RCPT stages after them.
class ExplainStages {
public:
    virtual ~ExplainStages() = default;
    virtual Decision connect(const SessionFacts& f, std::string& out) = 0;
    virtual Decision mail(const SessionFacts& f, const smtp::Path& sender, std::string& out) = 0;
    virtual Decision rcpt(const SessionFacts& f, const smtp::Path& sender, const smtp::Path& rcpt, std::string& out) = 0;
};

ExplainAnswer explain(const ExplainQuestion& q, ExplainStages* stages = nullptr);

}  // namespace rampart::policy
