// audit/report.hpp — the result of `rampart audit`: findings (open / ok / inconclusive),
// each with the dialogue lines that prove it and a fix, rendered as text or JSON.
// Trust: evidence lines hold text the audited server chose; they are escaped
// (util::display_escape) when recorded, and the JSON writer escapes again for JSON.
// Contract: exit_code() is 1 when any finding is open, else 0 (2, usage or connect
// failure, is the caller's).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rampart::audit {

enum class Outcome { Open, Ok, Inconclusive };

std::string_view outcome_name(Outcome o);   // "open", "ok", "inconclusive"

struct Finding {
    std::string id;                      // stable: "relay.percent_hack.foreign_sender"
    std::string title;                   // what was tried
    Outcome result = Outcome::Inconclusive;
    std::string reason;                  // one sentence: why this result
    std::vector<std::string> evidence;   // "C: ..." / "S: ..." lines, already display-escaped
    std::string fix;                     // generic, with the Postfix parameter where obvious
};

struct Report {
    std::string target;                  // "HOST:PORT"
    std::string greeting;                // the 220 line, escaped
    std::vector<Finding> findings;
};

int exit_code(const Report& report);
std::size_t count(const Report& report, Outcome o);

// Human-readable: a summary line per finding; evidence and fix for open and inconclusive
// ones (every finding with `verbose`).
std::string render_text(const Report& report, bool verbose = false);
// {"target":…, "greeting":…, "summary":{"open":n,"ok":n,"inconclusive":n},
//  "findings":[{"id","title","result","reason","evidence":[…],"fix"}]}
std::string render_json(const Report& report);

}  // namespace rampart::audit
