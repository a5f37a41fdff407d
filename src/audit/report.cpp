// audit/report.cpp — verdict and rendering of an audit report (see report.hpp).
#include "audit/report.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace rampart::audit {

std::string_view outcome_name(Outcome o) {
    switch (o) {
    case Outcome::Open: return "open";
    case Outcome::Ok: return "ok";
    case Outcome::Inconclusive: return "inconclusive";
    }
    return "inconclusive";
}

std::size_t count(const Report& report, Outcome o) {
    return static_cast<std::size_t>(
        std::count_if(report.findings.begin(), report.findings.end(), [o](const Finding& f) { return f.result == o; }));
}

int exit_code(const Report& report) { return count(report, Outcome::Open) > 0 ? 1 : 0; }

std::string render_text(const Report& report, bool verbose) {
    std::string out = "rampart audit of " + report.target + "\n";
    if (!report.greeting.empty()) out += "greeting: " + report.greeting + "\n";
    out += "\n";
    for (const Finding& f : report.findings) {
        std::string mark(outcome_name(f.result));
        for (char& c : mark) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
        out += "[" + mark + "] " + f.id + ": " + f.title + "\n";
        if (!f.reason.empty()) out += "    " + f.reason + "\n";
        if (verbose || f.result != Outcome::Ok) {
            for (const std::string& line : f.evidence) out += "      " + line + "\n";
            if (f.result == Outcome::Open && !f.fix.empty()) out += "    fix: " + f.fix + "\n";
        }
    }
    out += "\n" + std::to_string(count(report, Outcome::Open)) + " open, " + std::to_string(count(report, Outcome::Ok)) +
           " ok, " + std::to_string(count(report, Outcome::Inconclusive)) + " inconclusive\n";
    return out;
}

std::string render_json(const Report& report) {
    nlohmann::json findings = nlohmann::json::array();
    for (const Finding& f : report.findings)
        findings.push_back({{"id", f.id},
                            {"title", f.title},
                            {"result", std::string(outcome_name(f.result))},
                            {"reason", f.reason},
                            {"evidence", f.evidence},
                            {"fix", f.fix}});
    nlohmann::json doc = {{"target", report.target},
                          {"greeting", report.greeting},
                          {"summary",
                           {{"open", count(report, Outcome::Open)},
                            {"ok", count(report, Outcome::Ok)},
                            {"inconclusive", count(report, Outcome::Inconclusive)}}},
                          {"findings", findings}};
    // Evidence is display-escaped already (valid UTF-8); replace guards the rest.
    return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace rampart::audit
