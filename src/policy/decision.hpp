// policy/decision.hpp — the value every access rule returns (STYLE.md §4), and the trace
// `rampart explain` prints. First non-Pass decision wins.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "smtp/reply.hpp"

namespace rampart::policy {

enum class Verdict { Pass, Accept, Refuse };

struct Decision {
    Verdict verdict = Verdict::Pass;
    smtp::Reply reply;        // exactly what the client reads (Accept: the 250 reply)
    std::string_view rule;    // the config key that decided, e.g. "relay.list"
    std::string note;         // why this rule passed or decided, for explain only (no secrets)
};

struct TraceStep {
    std::string_view rule;
    Decision decision;
};

// Collects every rule evaluated; live sessions pass no trace.
struct Trace {
    std::vector<TraceStep> steps;
    void add(std::string_view rule, const Decision& d) { steps.push_back({rule, d}); }
};

std::string_view verdict_name(Verdict v);

}  // namespace rampart::policy
