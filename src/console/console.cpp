// console/console.cpp — page registration and the session gate (see the header).
#include "console/console.hpp"

#include "util/log.hpp"

namespace rampart::console {

admin::HttpResponse PageRequest::page(std::string_view title, std::string_view body, int status) const {
    return html_response(layout(title, body, viewer, console.nav(), http.path), status);
}

Console::Console(Services services) : services_(std::move(services)) {}
Console::~Console() = default;

void Console::page(std::string path, std::string nav, std::vector<std::string> methods, PageHandler handler) {
    if (!nav.empty()) nav_.push_back(NavItem{path, std::move(nav)});
    pages_.push_back(Page{std::move(path), std::move(methods), std::move(handler)});
}

void Console::install(admin::HttpServer& http) {
    // SKELETON (replaced by the sign-in work before the console is wired into serve): no
    // session store yet, so every page is refused.
    for (const Page& p : pages_) {
        http.route(p.path, p.methods, [](const admin::HttpRequest&) -> asio::awaitable<admin::HttpResponse> {
            admin::HttpResponse r;
            r.status = 403;
            r.body = "sign-in is not available\n";
            co_return r;
        });
    }
}

void audit_change(const Viewer& viewer, std::string_view what, std::string_view detail) {
    log::info("console.change", {{"user", viewer.user}, {"what", std::string(what)}, {"detail", std::string(detail)}});
}

}  // namespace rampart::console
