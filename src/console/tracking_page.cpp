// console/tracking_page.cpp — the tracking search (see the header).
#include "console/tracking_page.hpp"

#include "console/console.hpp"
#include "console/ops_pages.hpp"
#include "tracking/recorder.hpp"
#include "tracking/report.hpp"

namespace rampart::console {
namespace {

constexpr std::string_view kFields[] = {"id", "sender", "recipient", "client", "since", "until", "status"};

}  // namespace

TrackingSearch tracking_search_from(const FormFields& fields, std::int64_t now_ms) {
    TrackingSearch s;
    auto get = [&fields](std::string_view name) { return std::string(form_value(fields, name).value_or("")); };
    for (std::string_view f : kFields) s.any = s.any || !get(f).empty();
    s.query.id = get("id");
    s.query.sender = get("sender");
    s.query.recipient = get("recipient");
    s.query.client = get("client");
    s.query.limit = kRowsPerPage;
    if (std::string st = get("status"); !st.empty()) {
        s.query.status = tracking::status_bit(st);
        if (!s.query.status) s.error = "status: \"" + st + "\" is not one of delivered, refused, quarantined, deferred, bounced";
    }
    for (auto [name, out] : {std::pair{"since", &s.query.since_ms}, {"until", &s.query.until_ms}}) {
        std::string t = get(name);
        if (t.empty()) continue;
        *out = tracking::parse_time(t, now_ms);
        if (!*out) s.error = std::string(name) + ": \"" + t + "\" is neither an RFC 3339 time (2026-12-01T17:00:00Z) nor a time ago (\"1h\", \"2d\")";
    }
    return s;
}

std::string tracking_form_html(const FormFields& fields) {
    std::string out = "<form method=\"get\" action=\"/console/tracking\" id=\"tracking-form\"><fieldset><legend>Search</legend>";
    for (std::string_view f : kFields) {
        if (f == "status") continue;
        out += "<label>" + std::string(f) + " <input type=\"text\" name=\"" + std::string(f) + "\" id=\"" + std::string(f) + "\" value=\"" +
               escape(form_value(fields, f).value_or("")) + "\"></label> ";
    }
    std::string st(form_value(fields, "status").value_or(""));
    out += "<label>status <select name=\"status\" id=\"status\"><option value=\"\">any</option>";
    for (std::string_view v : {"delivered", "refused", "quarantined", "deferred", "bounced"})
        out += "<option" + std::string(st == v ? " selected" : "") + ">" + std::string(v) + "</option>";
    out += "</select></label> <button type=\"submit\" id=\"search\">Search</button>"
           "<p class=\"preset\">since/until: RFC 3339 (2026-12-01T17:00:00Z) or a time ago (1h, 2d).</p></fieldset></form>";
    return out;
}

std::string tracking_results_html(const std::vector<tracking::Message>& messages) {
    if (messages.empty()) return "<p id=\"no-match\">No message matches.</p>";
    std::string out;
    for (const tracking::Message& m : messages) {
        out += "<section class=\"tracked\"><h2>" + escape(m.tracking_id) + " <span class=\"preset\">" +
               escape(tracking::status_names(m.status)) + "</span></h2>";
        if (const tracking::Event* r = tracking::refusal(m)) {
            std::string by = !r->agent.empty() ? "agent " + r->agent : !r->rule.empty() ? "rule " + r->rule : "the server";
            out += "<div class=\"error refusal\">Refused by " + escape(by) + (r->rule.empty() || r->agent.empty() ? "" : " (" + escape(r->rule) + ")") +
                   ": " + escape(std::to_string(r->code) + " " + (r->status.empty() ? "" : r->status + " ") + r->reason) + "</div>";
        }
        out += "<table class=\"events\"><tr><th>Time</th><th>Event</th><th>Queue id</th><th>Client</th><th>Sender</th><th>Recipients</th>"
               "<th>Rule / agent</th><th>Result</th><th>Reply</th><th>Relay</th></tr>";
        for (const tracking::Event& e : m.events) {
            std::string who = e.agent.empty() ? e.rule : e.rule.empty() ? e.agent : e.agent + " (" + e.rule + ")";
            std::string reply = (e.code ? std::to_string(e.code) + " " : "") + e.status + (e.status.empty() ? "" : " ") + e.reason;
            out += "<tr><td>" + escape(tracking::format_time(e.ts_ms)) + "</td><td>" + escape(tracking::event_label(e)) + "</td><td>" +
                   escape(e.qid) + "</td><td>" + escape(e.client) + "</td><td>" + escape(e.sender) + "</td><td>" + escape(e.rcpts) +
                   "</td><td>" + escape(who) + "</td><td>" + escape(e.result) + "</td><td>" + escape(reply) + "</td><td>" + escape(e.relay) +
                   "</td></tr>";
        }
        out += "</table></section>";
    }
    if (messages.size() >= kRowsPerPage)
        out += "<p class=\"preset\">The " + std::to_string(kRowsPerPage) + " most recent messages are shown; narrow the search for older ones.</p>";
    return out;
}

namespace {

asio::awaitable<admin::HttpResponse> tracking_page(const PageRequest& req) {
    const Services& s = req.console.services();
    std::string body = tracking_form_html(req.fields);
    TrackingSearch search = tracking_search_from(req.fields, tracking::now_ms());
    if (!search.error.empty()) {
        body += "<div class=\"error\" id=\"search-error\">" + escape(search.error) + "</div>";
        co_return req.page("Tracking", body, 400);
    }
    if (!search.any) co_return req.page("Tracking", body);
    if (s.tracking_file.empty() || !std::filesystem::exists(s.tracking_file)) {
        body += "<div class=\"error\">no tracking store (tracking.enabled = false, or nothing was recorded yet)</div>";
        co_return req.page("Tracking", body);
    }
    auto store = tracking::Store::open(s.tracking_file, false);
    if (!store) {
        body += "<div class=\"error\">" + escape(store.error().message) + "</div>";
        co_return req.page("Tracking", body);
    }
    auto found = store->find(search.query);
    if (!found) body += "<div class=\"error\">" + escape(found.error().message) + "</div>";
    else body += tracking_results_html(*found);
    co_return req.page("Tracking", body);
}

}  // namespace

void add_tracking_page(Console& console) {
    console.page("/console/tracking", "Tracking", {"GET"}, [](const PageRequest& req) { return tracking_page(req); });
}

}  // namespace rampart::console
