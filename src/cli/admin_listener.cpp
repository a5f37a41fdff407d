// cli/admin_listener.cpp — the admin listener's wiring (see the header).
#include "cli/admin_listener.hpp"

#include <iostream>

#include "admin/metrics_page.hpp"
#include "console/listeners_page.hpp"
#include "console/ops_pages.hpp"
#include "net/tls.hpp"
#include "util/file_io.hpp"
#include "util/log.hpp"
#include "util/metric_catalog.hpp"

namespace rampart::cli {
namespace {

// The bearer token in `path`: its one line, trailing white space removed. The error names
// the file.
Result<std::string> read_token(const std::filesystem::path& path) {
    auto text = util::read_file(path);
    if (!text) return text.error();
    std::string token = *text;
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (token.empty() || token.find_first_of("\r\n") != std::string::npos) return Error{0, "no token (one line) in " + path.string()};
    return token;
}

// A plain coroutine function (GCC 12 mishandles capturing lambda coroutines).
asio::awaitable<admin::HttpResponse> metrics_route(const queue::Scheduler* scheduler) { co_return admin::metrics_page(*scheduler); }

}  // namespace

AdminListener open_admin_listener(const config::Config& cfg, asio::any_io_executor ex, const queue::Scheduler& scheduler,
                                  console::Services console) {
    AdminListener out;
    metrics::catalog();   // registered before the first event, so every family is scraped
    const config::AdminSettings& a = cfg.admin;
    if (!a.bind) return out;
    admin::HttpServerSettings hs;
    hs.host = a.bind->host;
    hs.port = a.bind->port;
    if (!a.token_file.empty()) {
        auto token = read_token(cfg.resolve(a.token_file));
        if (!token) {
            std::cerr << cfg.source << ": admin.token_file: " << token.error().message << "\n";
            out.failed = true;
            return out;
        }
        hs.token = std::move(*token);
    }
    if (!a.tls_certificate.empty()) {
        net::ServerTlsSettings ts;
        ts.certificate = cfg.resolve(a.tls_certificate);
        ts.key = cfg.resolve(a.tls_key);
        ts.hostname = cfg.server.hostname;
        auto ctx = net::make_server_context(ts);
        if (!ctx) {
            std::cerr << cfg.source << ": admin.tls_certificate: " << ctx.error().message << "\n";
            out.failed = true;
            return out;
        }
        hs.tls = *ctx;
    }
    auto server = std::make_unique<admin::HttpServer>(ex, std::move(hs));
    server->route("/metrics", {"GET"}, [s = &scheduler](const admin::HttpRequest&) { return metrics_route(s); });
    // The web console (docs/console.md): one add_*_pages call per page group, then install.
    out.console = std::make_unique<console::Console>(std::move(console));
    console::add_home_pages(*out.console);
    console::add_listener_pages(*out.console);
    console::add_ops_pages(*out.console);   // explain, queue, quarantine, tracking, users and groups
    out.console->install(*server);
    if (auto r = server->open(); !r) {
        log::error("admin.unavailable", {{"error", r.error().message}, {"effect", "no /metrics and no console; mail is served as usual"}});
        return out;
    }
    log::info("admin.listening", {{"address", a.bind->text()}, {"tls", a.tls_certificate.empty() ? "no" : "yes"},
                                  {"token", a.token_file.empty() ? "no" : "yes"}});
    out.server = std::move(server);
    return out;
}

void reload_admin_token(const AdminListener& listener, const config::Config& cfg) {
    if (!listener.server || cfg.admin.token_file.empty()) return;
    std::filesystem::path p = cfg.resolve(cfg.admin.token_file);
    auto token = read_token(p);
    if (!token) {
        log::error("admin.token.kept", {{"file", p.string()}, {"error", token.error().message}, {"action", "kept the previous token"}});
        return;
    }
    listener.server->reload_token(std::move(*token));
    log::info("admin.token.loaded", {{"file", p.string()}});
}

}  // namespace rampart::cli
