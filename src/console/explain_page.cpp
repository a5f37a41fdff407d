// console/explain_page.cpp — the explain form and its trace (see the header).
#include "console/explain_page.hpp"

#include <sstream>

#include "config/config.hpp"
#include "console/ops_pages.hpp"

namespace rampart::console {
namespace {

std::string trim(std::string_view s) {
    std::size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos) return {};
    std::size_t e = s.find_last_not_of(" \t\r\n");
    return std::string(s.substr(b, e - b + 1));
}

std::string text_input(std::string_view name, std::string_view label, std::string_view value) {
    return "<label>" + std::string(label) + " <input type=\"text\" name=\"" + std::string(name) + "\" id=\"" + std::string(name) +
           "\" value=\"" + escape(value) + "\"></label><br>";
}

// One trace line as a row: a section title ("connection", "MAIL FROM:<a@b>"), a rule step
// ("  rule  verdict  note"), the decision ("  => 550 5.7.1 ...  [decided by rule]") or the result.
std::string trace_row(std::string_view line) {
    if (line.empty()) return {};
    if (line.front() != ' ') return "<tr class=\"section\"><th colspan=\"3\">" + escape(line) + "</th></tr>";
    std::string t = trim(line);
    if (t.rfind("=>", 0) == 0) return "<tr class=\"decision\"><td colspan=\"3\"><strong>" + escape(trim(t.substr(2))) + "</strong></td></tr>";
    std::istringstream in(t);
    std::string rule, verdict, note;
    in >> rule >> verdict;
    std::getline(in, note);
    return "<tr><td>" + escape(rule) + "</td><td>" + escape(verdict) + "</td><td>" + escape(trim(note)) + "</td></tr>";
}

}  // namespace

ExplainRequest explain_request_from(const FormFields& f) {
    ExplainRequest r;
    auto get = [&f](std::string_view name) { return trim(form_value(f, name).value_or("")); };
    r.listener = get("listener");
    r.client = get("client");
    r.user = get("user");
    r.sender = get("sender");
    std::istringstream in(std::string(form_value(f, "rcpts").value_or("")));
    for (std::string line; std::getline(in, line);)
        if (std::string a = trim(line); !a.empty()) r.rcpts.push_back(std::move(a));
    r.smtputf8 = form_value(f, "smtputf8").has_value();
    r.tls = form_value(f, "tls").has_value();
    return r;
}

std::string explain_form_html(const std::vector<std::string>& listeners, const ExplainRequest& r) {
    std::string out = "<form method=\"get\" action=\"/console/explain\" id=\"explain-form\"><fieldset><legend>Imagined session</legend>";
    out += "<label>Listener <select name=\"listener\" id=\"listener\">";
    for (const std::string& l : listeners)
        out += "<option value=\"" + escape(l) + "\"" + (l == r.listener ? " selected" : "") + ">" + escape(l) + "</option>";
    out += "</select></label><br>";
    out += text_input("client", "Client address", r.client.empty() ? "192.0.2.1" : r.client);
    out += text_input("user", "Authenticated user (empty: anonymous)", r.user);
    out += text_input("sender", "Sender (MAIL FROM)", r.sender);
    std::string rcpts;
    for (const std::string& a : r.rcpts) rcpts += a + "\n";
    out += "<label>Recipients, one per line<br><textarea name=\"rcpts\" id=\"rcpts\" rows=\"4\" cols=\"50\">" + escape(rcpts) +
           "</textarea></label><br>";
    out += std::string("<label><input type=\"checkbox\" name=\"smtputf8\" value=\"1\"") + (r.smtputf8 ? " checked" : "") +
           "> SMTPUTF8</label> ";
    out += std::string("<label><input type=\"checkbox\" name=\"tls\" value=\"1\"") + (r.tls ? " checked" : "") +
           "> the session uses TLS</label><br>";
    out += "<button type=\"submit\" id=\"explain\">Explain</button></fieldset></form>";
    return out;
}

std::string explain_result_html(const ExplainResult& r) {
    std::string out;
    if (!r.error.empty()) out += "<div class=\"error\" id=\"explain-error\">" + escape(r.error) + "</div>";
    if (!r.preamble.empty()) out += "<pre id=\"explain-preamble\">" + escape(r.preamble) + "</pre>";
    if (!r.answer) return out;
    const policy::ExplainAnswer& a = *r.answer;
    out += std::string("<div class=\"") + (a.all_accepted ? "ok" : "error") + "\" id=\"explain-decision\">" +
           (a.all_accepted ? "Every recipient would be accepted." : "This session would be refused (in part or whole).") + "</div>";
    out += std::string("<p class=\"preset\">") +
           (r.live ? "Connection limits, AUTH lockout and hourly limits: evaluated with this server's live state."
                   : "Live-only steps were not evaluated.") +
           "</p>";
    out += "<h2>Replies a client would read</h2><table id=\"explain-replies\"><tr><th>Command</th><th>Reply</th><th>Enhanced status</th>"
           "<th>Text</th><th>Decided by</th></tr>";
    for (const policy::ExplainReply& rep : a.replies)
        out += "<tr><td>" + escape(rep.command) + "</td><td>" + std::to_string(rep.reply.code) + "</td><td>" + escape(rep.reply.enhanced) +
               "</td><td>" + escape(rep.reply.text) + "</td><td>" + escape(rep.rule) + "</td></tr>";
    out += "</table><h2>Every rule evaluated</h2><table id=\"explain-trace\"><tr><th>Rule</th><th>Verdict</th><th>Reason</th></tr>";
    std::istringstream in(a.text);
    for (std::string line; std::getline(in, line);) out += trace_row(line);
    out += "</table>";
    return out;
}

namespace {

asio::awaitable<admin::HttpResponse> explain_page(const PageRequest& req) {
    const Services& s = req.console.services();
    auto cfg = s.config ? s.config() : nullptr;
    std::vector<std::string> listeners;
    if (cfg)
        for (const auto& l : cfg->listeners) listeners.push_back(l.name);
    ExplainRequest r = explain_request_from(req.fields);
    std::string body = explain_form_html(listeners, r);
    if (!r.listener.empty()) {
        if (s.explain) body += explain_result_html(s.explain(r));
        else body += "<div class=\"error\">explain is not available in this server</div>";
    }
    co_return req.page("Explain", body);
}

}  // namespace

void add_explain_page(Console& console) {
    console.page("/console/explain", "Explain", {"GET"}, [](const PageRequest& req) { return explain_page(req); });
}

}  // namespace rampart::console
