// console/home_page.cpp — /console, the page after sign-in: this server (name, role), its
// listeners with their addresses and the queue by state. Read-only.
#include <map>

#include "config/config.hpp"
#include "console/console.hpp"
#include "queue/scheduler.hpp"

namespace rampart::console {
namespace {

std::string_view tls_text(config::TlsMode m) {
    switch (m) {
    case config::TlsMode::None: return "none";
    case config::TlsMode::StartTls: return "STARTTLS";
    case config::TlsMode::Implicit: return "implicit TLS";
    }
    return "?";
}

// A plain coroutine function (GCC 12 mishandles capturing lambda coroutines).
asio::awaitable<admin::HttpResponse> home(const PageRequest& req) {
    const Services& svc = req.console.services();
    std::shared_ptr<const config::Config> cfg = svc.config ? svc.config() : nullptr;
    std::string body;
    if (cfg) {
        body += "<table id=\"server\"><tr><th>Server</th><td>" + escape(cfg->server.hostname) + "</td></tr>"
                "<tr><th>Role</th><td>" + escape(config::role_name(cfg->server.role)) + "</td></tr>"
                "<tr><th>Configuration</th><td>" + escape(svc.config_path.empty() ? "(embedded default)" : svc.config_path.string()) +
                "</td></tr><tr><th>Signed in as</th><td>" + escape(req.viewer.user) + "</td></tr></table>\n";
        body += "<h2>Listeners</h2>\n<table id=\"listeners\"><tr><th>Name</th><th>Addresses</th><th>TLS</th></tr>\n";
        for (const config::Listener& l : cfg->listeners) {
            std::string addresses;
            for (const config::Endpoint& e : l.bind) addresses += (addresses.empty() ? "" : ", ") + e.text();
            body += "<tr><td>" + escape(l.name) + "</td><td>" + escape(addresses) + "</td><td>" + escape(tls_text(l.tls)) + "</td></tr>\n";
        }
        body += "</table>\n";
    }
    body += "<h2>Queue</h2>\n";
    if (svc.scheduler) {
        std::map<std::string, std::size_t> by_state{{"ready", 0}, {"active", 0}, {"deferred", 0}, {"held", 0}, {"quarantined", 0}};
        for (const auto& [key, n] : svc.scheduler->counts()) by_state[key.first] += n;
        body += "<table id=\"queue\"><tr><th>State</th><th>Messages</th></tr>\n";
        for (const auto& [state, n] : by_state)
            body += "<tr><td>" + escape(state) + "</td><td>" + std::to_string(n) + "</td></tr>\n";
        body += "</table>\n";
    } else {
        body += "<p>The queue is not available here.</p>\n";
    }
    co_return req.page("Overview", body);
}

}  // namespace

void add_home_pages(Console& console) {
    console.page("/console", "Overview", {"GET"}, [](const PageRequest& r) { return home(r); });
}

}  // namespace rampart::console
