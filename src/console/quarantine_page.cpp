// console/quarantine_page.cpp — /console/quarantine: quarantined messages (why: the agent
// and its reason), a page per message with its headers and an escaped text preview (never
// rendered as HTML), release and delete (the queue tools' `quarantine release|delete`,
// POST only, audit_change'd). The rendering is the queue page's (console/queue_page.hpp).
#include "console/ops_pages.hpp"
#include "console/queue_page.hpp"

namespace rampart::console {
namespace {

asio::awaitable<admin::HttpResponse> quarantine_list_page(const PageRequest& req) {
    const Services& s = req.console.services();
    if (!s.scheduler) co_return req.page("Quarantine", "<div class=\"error\">the queue is not available</div>", 503);
    std::vector<queue::MessageInfo> all = s.scheduler->list();
    std::vector<const queue::MessageInfo*> match;
    for (const auto& m : all)
        if (!m.envelope.quarantine.empty()) match.push_back(&m);
    Paging p = paginate(match.size(), req.field("page"));
    std::vector<const queue::MessageInfo*> shown(match.begin() + static_cast<std::ptrdiff_t>(p.first),
                                                 match.begin() + static_cast<std::ptrdiff_t>(p.first + p.count));
    std::string body;
    if (auto done = req.field("done")) body += "<div class=\"ok\" id=\"done\">" + escape(*done) + "</div>";
    body += "<p>" + std::to_string(match.size()) + " quarantined message(s). Releasing delivers a message as if no agent had held it.</p>";
    body += queue_table_html(shown, req.viewer, now_seconds(), true);
    body += pager_html(p, "/console/quarantine", "");
    co_return req.page("Quarantine", body);
}

}  // namespace

void add_quarantine_pages(Console& console) {
    console.page("/console/quarantine", "Quarantine", {"GET"}, [](const PageRequest& req) { return quarantine_list_page(req); });
    console.page("/console/quarantine/message", "", {"GET"}, [](const PageRequest& req) { return quarantine_message_page(req); });
    console.page("/console/quarantine/action", "", {"POST"}, [](const PageRequest& req) { return queue_action(req, true); });
}

}  // namespace rampart::console
