// console/console.hpp — the web console on the admin listener (docs/console.md): pages a
// signed-in administrator uses to see and change the server, behind one gate.
// Trust: requests come from anyone who reaches the admin listener. Every page added with
// Console::page is served only to a signed-in user of the admin group (session cookie);
// every POST must also carry the session's CSRF token. Pages never see unauthenticated
// requests and never check the session themselves.
// Contract: a page that changes anything calls audit_change() with what it changed, so
// every change is logged with who made it (console.change).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <asio/awaitable.hpp>

#include "admin/http_server.hpp"
#include "console/explain_service.hpp"
#include "console/form.hpp"
#include "console/html.hpp"
#include "util/result.hpp"

namespace rampart::config {
struct Config;
}
namespace rampart::directory {
class Live;
}
namespace rampart::auth {
class PasswordVerifier;
}
namespace rampart::policy {
class Brakes;
}
namespace rampart::queue {
class Scheduler;
class Spool;
}  // namespace rampart::queue

namespace rampart::console {

class Console;

// What a page handler is given: the request, who is signed in, the decoded fields (the
// query string for GET, the form body for POST).
struct PageRequest {
    const admin::HttpRequest& http;
    const Viewer& viewer;
    const FormFields& fields;
    const Console& console;

    std::optional<std::string_view> field(std::string_view name) const { return form_value(fields, name); }
    // The page in the console's layout.
    admin::HttpResponse page(std::string_view title, std::string_view body, int status = 200) const;
};

using PageHandler = std::function<asio::awaitable<admin::HttpResponse>(const PageRequest&)>;

// What the pages read and act on; `cli/admin_listener.cpp` fills it. Pages add the
// services they need here.
struct Services {
    // The running configuration generation (the newest after a reload).
    std::function<std::shared_ptr<const config::Config>()> config;
    // The file the server was started with (-c); empty: the embedded default, which the
    // console shows but cannot change.
    std::filesystem::path config_path;
    // Sign-in: the live directory (users, groups), the password check SMTP AUTH uses (null:
    // the directory file's hashes) and the AUTH lockout brakes shared with SMTP.
    const directory::Live* directory = nullptr;
    const auth::PasswordVerifier* verifier = nullptr;
    policy::Brakes* brakes = nullptr;
    // server.data_dir: the audit log data_dir/console-audit.log is appended there.
    std::filesystem::path data_dir;
    // The queue (home page counts; the queue pages' actions); pages run on its executor, so
    // they may call it directly.
    queue::Scheduler* scheduler = nullptr;

    // The operations pages (console/ops_pages.hpp): the spool (headers, previews), the
    // tracking store, and `rampart explain` in-process.
    const queue::Spool* spool = nullptr;
    std::filesystem::path tracking_file;     // data_dir/tracking.db; "" when tracking is off
    std::function<ExplainResult(const ExplainRequest&)> explain;

    // Applies the configuration file as it now is on disk: the same reload as SIGHUP
    // (cli::Reloader), on the server's main context (call it from a page, which runs
    // there). An error says what failed (the running configuration is kept). Unset: the
    // console cannot apply changes.
    std::function<Result<Ok>()> reload_config;
};

class SessionStore;

class Console {
public:
    explicit Console(Services services);
    ~Console();

    // Adds a page at `path` ("/console/..."); "GET" also answers HEAD. `nav`: its title in
    // the navigation bar ("" for pages reached from others, such as an edit form).
    void page(std::string path, std::string nav, std::vector<std::string> methods, PageHandler handler);

    // Puts the console's routes on `http`: the sign-in and sign-out pages, then every page
    // behind the session gate (routes open to requests without the bearer token: the
    // console has its own sign-in). Call once, after every page is added.
    void install(admin::HttpServer& http);

    const Services& services() const { return services_; }
    const std::vector<NavItem>& nav() const { return nav_; }

private:
    struct Page {
        std::string path;
        std::vector<std::string> methods;
        PageHandler handler;
    };
    struct Gate;
    asio::awaitable<admin::HttpResponse> serve_page(const Page& page, const admin::HttpRequest& req) const;
    asio::awaitable<admin::HttpResponse> login(const admin::HttpRequest& req) const;
    asio::awaitable<admin::HttpResponse> logout(const admin::HttpRequest& req) const;
    admin::HttpResponse login_form(const admin::HttpRequest& req, std::string_view next, std::string_view error,
                                   int status) const;

    Services services_;
    std::vector<NavItem> nav_;
    std::vector<Page> pages_;
    std::unique_ptr<SessionStore> sessions_;
    bool tls_ = false;
};

// Logs a change made through the console (event console.change) with the signed-in user,
// what was changed (`what`: "listener internet: relay", "queue: delete 1A2B") and details,
// and appends it as one JSON line ({"time", "user", "what", "detail"}) to the audit file
// (data_dir/console-audit.log, set by Console::install; fsync'd before returning). An audit
// file that cannot be written is logged (console.audit.failed), never ignored silently.
void audit_change(const Viewer& viewer, std::string_view what, std::string_view detail);

// The audit file audit_change appends to (empty: log only). Console::install sets it.
void set_audit_file(std::filesystem::path path);

// The home page (/console): server, role, listeners and the queue (console/home_page.cpp).
void add_home_pages(Console& console);

}  // namespace rampart::console
