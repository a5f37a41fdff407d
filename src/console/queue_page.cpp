// console/queue_page.cpp — the queue list, a message's page and the actions (see the header).
#include "console/queue_page.hpp"

#include <algorithm>
#include <map>

#include "admin/queue_commands.hpp"
#include "console/console.hpp"
#include "console/ops_pages.hpp"
#include "queue/dsn.hpp"
#include "queue/spool.hpp"

namespace rampart::console {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool contains_ci(std::string_view hay, std::string_view needle) { return lower(hay).find(lower(needle)) != std::string::npos; }

std::string result_text(const queue::AttemptResult& r) {
    std::string t = r.code ? std::to_string(r.code) + " " : "";
    if (!r.status.empty()) t += r.status + " ";
    return t + r.diagnostic;
}

// The last error of a message: the first recipient's that has one.
std::string last_error(const queue::Envelope& e) {
    for (const queue::Recipient& r : e.recipients)
        if (r.last.outcome == queue::Outcome::Deferred || r.last.outcome == queue::Outcome::Failed) return result_text(r.last);
    return {};
}

std::string message_link(const std::string& id) {
    return "<a href=\"/console/queue/message?id=" + escape(url_encode(id)) + "\">" + escape(id) + "</a>";
}

std::string action_buttons(bool quarantine) {
    std::vector<std::pair<std::string, std::string>> verbs =
        quarantine ? std::vector<std::pair<std::string, std::string>>{{"release", "Release"}, {"delete", "Delete"}}
                   : std::vector<std::pair<std::string, std::string>>{
                         {"hold", "Hold"}, {"release", "Release"}, {"retry", "Retry now"}, {"bounce", "Bounce"}, {"delete", "Delete"}};
    std::string out;
    for (const auto& [verb, title] : verbs)
        out += "<button type=\"submit\" name=\"action\" value=\"" + verb + "\" id=\"action-" + verb + "\">" + title + "</button> ";
    return out;
}

}  // namespace

bool queue_matches(const queue::MessageInfo& m, const QueueFilter& f) {
    if (!f.state.empty() && m.state != f.state) return false;
    if (!f.sender.empty() && !contains_ci(m.envelope.sender, f.sender)) return false;
    if (!f.recipient.empty() &&
        std::none_of(m.envelope.recipients.begin(), m.envelope.recipients.end(),
                     [&f](const queue::Recipient& r) { return contains_ci(r.address, f.recipient); }))
        return false;
    return true;
}

bool queue_action_allowed(std::string_view verb, bool quarantine) {
    if (quarantine) return verb == "release" || verb == "delete";
    return verb == "hold" || verb == "release" || verb == "retry" || verb == "delete" || verb == "bounce";
}

std::string queue_table_html(const std::vector<const queue::MessageInfo*>& shown, const Viewer& viewer, std::int64_t now,
                             bool quarantine) {
    std::string action = quarantine ? "/console/quarantine/action" : "/console/queue/action";
    std::string out = "<form method=\"post\" action=\"" + action + "\">" + csrf_input(viewer);
    out += std::string("<table id=\"") + (quarantine ? "quarantine" : "queue") + "\"><tr><th></th><th>Id</th>" +
           (quarantine ? "<th>Why</th>" : "<th>State</th>") +
           "<th>Sender</th><th>Recipients</th><th>Size</th><th>Age</th>" + (quarantine ? "" : "<th>Attempts</th><th>Last error</th>") +
           "<th></th></tr>";
    for (const queue::MessageInfo* m : shown) {
        const queue::Envelope& e = m->envelope;
        std::string rcpts;
        for (const queue::Recipient& r : e.recipients) rcpts += (rcpts.empty() ? "" : "<br>") + escape(r.address);
        std::string link = quarantine ? "<a href=\"/console/quarantine/message?id=" + escape(url_encode(e.id)) + "\">" + escape(e.id) + "</a>"
                                      : message_link(e.id);
        out += "<tr data-id=\"" + escape(e.id) + "\"><td><input type=\"checkbox\" name=\"id\" value=\"" + escape(e.id) + "\"></td><td>" +
               link + "</td><td>" + escape(quarantine ? e.quarantine : m->state) + "</td><td>&lt;" + escape(e.sender) + "&gt;</td><td>" +
               rcpts + "</td><td>" + std::to_string(e.size) + "</td><td>" + age_text(now - e.received_at) + "</td>";
        if (!quarantine) out += "<td>" + std::to_string(e.attempts) + "</td><td>" + escape(last_error(e)) + "</td>";
        out += "<td>" + tracking_link(e.id) + "</td></tr>";
    }
    out += "</table>";
    if (shown.empty()) out += std::string("<p id=\"empty\">") + (quarantine ? "The quarantine is empty" : "No message") + " here.</p>";
    else out += "<p>With the selected messages: " + action_buttons(quarantine) + "</p>";
    return out + "</form>";
}

std::string queue_message_html(const queue::MessageInfo& m, std::string_view headers, const Viewer& viewer, std::int64_t now) {
    const queue::Envelope& e = m.envelope;
    bool q = !e.quarantine.empty();
    auto row = [](std::string_view k, const std::string& v) { return "<tr><th>" + std::string(k) + "</th><td>" + v + "</td></tr>"; };
    std::string out = "<table id=\"envelope\">";
    out += row("Id", escape(e.id) + " (" + tracking_link(e.id) + ")");
    out += row("State", escape(m.state));
    if (q) out += row("Quarantined by", escape(e.quarantine));
    out += row("Received", escape(queue::rfc5322_date(e.received_at)) + " (" + age_text(now - e.received_at) + " ago) on listener " +
                               escape(e.listener) + " from " + escape(e.client) + " (" + escape(e.helo) + ")" +
                               (e.tls.empty() ? "" : ", " + escape(e.tls)));
    if (!e.principal.empty()) out += row("Client", escape(e.principal));
    out += row("Sender", "&lt;" + escape(e.sender) + "&gt;");
    out += row("Size", std::to_string(e.size) + " bytes");
    out += row("Attempts", std::to_string(e.attempts));
    out += "</table><h2>Recipients and delivery history</h2><table id=\"recipients\"><tr><th>Recipient</th><th>State</th><th>Last result</th><th>Answered by</th></tr>";
    for (const queue::Recipient& r : e.recipients)
        out += "<tr><td>" + escape(r.address) + "</td><td>" + escape(admin::recipient_state(r)) + "</td><td>" +
               escape(r.last.outcome == queue::Outcome::None ? std::string() : result_text(r.last)) + "</td><td>" + escape(r.last.remote) +
               "</td></tr>";
    out += "</table><p>Every event of this message: " + tracking_link(e.id) + ".</p>";
    out += "<h2>Headers</h2><pre id=\"headers\">" + escape(headers) + "</pre>";
    out += std::string("<form method=\"post\" action=\"") + (q ? "/console/quarantine/action" : "/console/queue/action") + "\">" +
           csrf_input(viewer) + "<input type=\"hidden\" name=\"id\" value=\"" + escape(e.id) + "\">" + action_buttons(q) + "</form>";
    return out;
}

namespace {

asio::awaitable<admin::HttpResponse> queue_list_page(const PageRequest& req) {
    const Services& s = req.console.services();
    if (!s.scheduler) co_return req.page("Queue", "<div class=\"error\">the queue is not available</div>", 503);
    QueueFilter f{std::string(req.field("state").value_or("")), std::string(req.field("sender").value_or("")),
                  std::string(req.field("recipient").value_or(""))};
    std::vector<queue::MessageInfo> all = s.scheduler->list();
    std::map<std::string, std::size_t> counts;
    for (const auto& m : all) ++counts[m.state];
    std::vector<const queue::MessageInfo*> match;
    for (const auto& m : all)
        if (queue_matches(m, f)) match.push_back(&m);
    Paging p = paginate(match.size(), req.field("page"));
    std::vector<const queue::MessageInfo*> shown(match.begin() + static_cast<std::ptrdiff_t>(p.first),
                                                 match.begin() + static_cast<std::ptrdiff_t>(p.first + p.count));
    std::string body;
    if (auto done = req.field("done")) body += "<div class=\"ok\" id=\"done\">" + escape(*done) + "</div>";
    body += "<p id=\"counts\">";
    for (const auto& [state, n] : counts) body += escape(state) + ": " + std::to_string(n) + " ";
    body += "(" + std::to_string(all.size()) + " in all)</p>";
    body += "<form method=\"get\" action=\"/console/queue\"><label>State <select name=\"state\" id=\"state\"><option value=\"\">any</option>";
    for (std::string_view st : {"ready", "active", "deferred", "held", "quarantined"})
        body += "<option" + std::string(f.state == st ? " selected" : "") + ">" + std::string(st) + "</option>";
    body += "</select></label> <label>Sender <input type=\"text\" name=\"sender\" value=\"" + escape(f.sender) +
            "\"></label> <label>Recipient <input type=\"text\" name=\"recipient\" value=\"" + escape(f.recipient) +
            "\"></label> <button type=\"submit\">Filter</button></form>";
    body += queue_table_html(shown, req.viewer, now_seconds(), false);
    body += pager_html(p, "/console/queue", "state=" + url_encode(f.state) + "&sender=" + url_encode(f.sender) + "&recipient=" + url_encode(f.recipient));
    co_return req.page("Queue", body);
}

asio::awaitable<admin::HttpResponse> message_page(const PageRequest& req, bool quarantine) {
    const Services& s = req.console.services();
    std::string title = quarantine ? "Quarantined message" : "Queued message";
    if (!s.scheduler || !s.spool) co_return req.page(title, "<div class=\"error\">the queue is not available</div>", 503);
    std::string id(req.field("id").value_or(""));
    auto m = s.scheduler->find(id);
    if (!m || (quarantine && m->envelope.quarantine.empty()))
        co_return req.page(title, "<div class=\"error\">no " + std::string(quarantine ? "quarantined " : "") + "message " + escape(id) +
                                      "</div>", 404);
    std::string body = queue_message_html(*m, admin::message_headers(*s.spool, id), req.viewer, now_seconds());
    if (quarantine) {
        // A text preview: the start of the body, escaped (never rendered as HTML).
        std::string preview;
        if (auto raw = s.spool->read_message(id)) {
            std::size_t end = raw->find("\r\n\r\n");
            if (end != std::string::npos) preview = raw->substr(end + 4, 8192);
            if (end != std::string::npos && raw->size() > end + 4 + 8192) preview += "\n[... preview cut at 8 KiB]";
        }
        body += "<h2>Body (text preview)</h2><pre id=\"preview\">" + escape(preview) + "</pre>";
    }
    co_return req.page(title, body);
}

}  // namespace

// One action on the selected ids through the queue tools' request (admin::queue_command),
// each audited; back to the list with what happened.
asio::awaitable<admin::HttpResponse> queue_action(const PageRequest& req, bool quarantine) {
    const Services& s = req.console.services();
    std::string back = quarantine ? "/console/quarantine" : "/console/queue";
    if (!s.scheduler || !s.spool) co_return req.page("Queue", "<div class=\"error\">the queue is not available</div>", 503);
    std::string verb(req.field("action").value_or(""));
    if (!queue_action_allowed(verb, quarantine))
        co_return req.page(quarantine ? "Quarantine" : "Queue", "<div class=\"error\">unknown action \"" + escape(verb) + "\"</div>", 400);
    std::vector<std::string> ids = form_values(req.fields, "id");
    if (ids.empty()) co_return see_other(back + "?done=" + url_encode("no message selected"));
    if (ids.size() > kRowsPerPage) ids.resize(kRowsPerPage);
    std::string report;
    for (const std::string& id : ids) {
        std::string answer;
        if (!plausible_queue_id(id)) answer = "error\nnot a queue id\n";
        else answer = co_await admin::queue_command(*s.scheduler, *s.spool, (quarantine ? "quarantine " : "") + verb + " " + id);
        bool ok = answer.rfind("ok\n", 0) == 0;
        std::string text = answer.substr(answer.find('\n') + 1);
        while (!text.empty() && text.back() == '\n') text.pop_back();
        audit_change(req.viewer, std::string(quarantine ? "quarantine: " : "queue: ") + verb + " " + id, (ok ? "ok: " : "error: ") + text);
        report += (report.empty() ? "" : "; ") + id + ": " + (ok ? "" : "error: ") + text;
    }
    co_return see_other(back + "?done=" + url_encode(report.substr(0, 2000)));
}

void add_queue_pages(Console& console) {
    console.page("/console/queue", "Queue", {"GET"}, [](const PageRequest& req) { return queue_list_page(req); });
    console.page("/console/queue/message", "", {"GET"}, [](const PageRequest& req) { return message_page(req, false); });
    console.page("/console/queue/action", "", {"POST"}, [](const PageRequest& req) { return queue_action(req, false); });
}

// The quarantine's message page is the queue's with a text preview (console/quarantine_page.cpp).
asio::awaitable<admin::HttpResponse> quarantine_message_page(const PageRequest& req) { return message_page(req, true); }

}  // namespace rampart::console
