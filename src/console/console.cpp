// console/console.cpp — page registration, the sign-in and sign-out pages, the session gate
// and the audit file (see the header and docs/console.md "Security").
#include "console/console.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>

#include <nlohmann/json.hpp>

#include "auth/verifier.hpp"
#include "config/config.hpp"
#include "console/security.hpp"
#include "console/session_store.hpp"
#include "directory/directory.hpp"
#include "policy/brakes.hpp"
#include "util/log.hpp"

namespace rampart::console {
namespace {

// The one answer to every refused sign-in (wrong password, unknown user, not in the admin
// group, locked out): the reason is only in the log.
constexpr std::string_view kRefused = "Sign-in refused: wrong user name or password, or this user may not use the console.";

admin::HttpResponse message_page(std::string_view title, std::string_view text, int status) {
    return html_response(layout(title, "<p class=\"error\">" + escape(text) + "</p>\n<p><a href=\"/console\">Console</a></p>",
                                Viewer{}, {}, ""),
                         status);
}

bool is_token(std::string_view s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The brakes a console sign-in counts in: the listener defaults (docs/console.md).
const config::ListenerLimits& console_limits() {
    static const config::ListenerLimits kLimits{};
    return kLimits;
}

}  // namespace

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
    tls_ = http.tls();
    std::chrono::milliseconds lifetime = std::chrono::hours(8);
    if (services_.config)
        if (auto cfg = services_.config()) lifetime = cfg->admin.console_session_lifetime;
    sessions_ = std::make_unique<SessionStore>(lifetime);
    if (!services_.data_dir.empty()) set_audit_file(services_.data_dir / "console-audit.log");
    // Non-capturing coroutines behind plain lambdas (GCC 12 mishandles capturing lambda coroutines).
    http.route("/console/login", {"GET", "POST"}, [this](const admin::HttpRequest& r) { return login(r); }, admin::RouteAccess::Open);
    http.route("/console/logout", {"POST"}, [this](const admin::HttpRequest& r) { return logout(r); }, admin::RouteAccess::Open);
    for (const Page& p : pages_)
        http.route(p.path, p.methods, [this, &p](const admin::HttpRequest& r) { return serve_page(p, r); }, admin::RouteAccess::Open);
}

// The checks every POST passes: form content, a decodable body, the same origin and the
// CSRF token (`expected`). Returns the refusal, or nullopt with `fields` filled.
struct Console::Gate {
    // Plain HTTP is loopback-only: a request naming another host came through DNS rebinding.
    // Also the one place each request reads the running configuration's session lifetime,
    // so a reload that changes console_session_lifetime applies at once.
    static std::optional<admin::HttpResponse> host(const Console& console, const admin::HttpRequest& req) {
        if (console.services_.config)
            if (auto cfg = console.services_.config()) console.sessions_->set_lifetime(cfg->admin.console_session_lifetime);
        if (console.tls_ || loopback_host(req)) return std::nullopt;
        log::warn("console.host.refused", {{"client", req.client}, {"path", req.path},
                                           {"host", std::string(req.header("Host").value_or("-"))}});
        return message_page("Wrong address", "Open the console at http://127.0.0.1:PORT/console (or localhost): over plain HTTP it answers to loopback names only.", 421);
    }
    static std::optional<admin::HttpResponse> post(const admin::HttpRequest& req, bool tls, std::string_view expected,
                                                   FormFields& fields) {
        if (!is_form_content(req))
            return message_page("Unsupported form", "Forms are sent as application/x-www-form-urlencoded.", 415);
        auto parsed = parse_form(req.body);
        if (!parsed) return message_page("Bad form", "The form could not be decoded.", 400);
        fields = std::move(*parsed);
        std::string reason;
        auto presented = form_value(fields, "csrf");
        if (!same_origin(req, tls))
            reason = req.header("Origin") ? "Origin does not match Host" : req.header("Referer") ? "Referer does not match Host" : "no Origin or Referer";
        else if (!presented || expected.empty() || !admin::equal_secret(*presented, expected))
            reason = presented ? "wrong CSRF token" : "no CSRF token";
        if (reason.empty()) return std::nullopt;
        log::warn("console.csrf.refused", {{"client", req.client}, {"path", req.path}, {"reason", reason},
                                           {"origin", std::string(req.header("Origin").value_or("-"))}});
        return message_page("Request refused", "The request did not come from this console's own page (CSRF check). Reload the page and try again.", 403);
    }
};

asio::awaitable<admin::HttpResponse> Console::serve_page(const Page& page, const admin::HttpRequest& req) const {
    if (auto refused = Gate::host(*this, req)) co_return std::move(*refused);
    std::optional<SessionStore::Session> session;
    if (auto id = cookie_value(req, session_cookie_name(tls_)); id && is_token(*id)) session = sessions_->find(*id);
    if (!session) {
        std::string back = req.method == "POST" ? req.path : req.target;
        co_return see_other("/console/login?next=" + url_encode(back));
    }
    Viewer viewer{session->user, session->csrf};
    FormFields fields;
    if (req.method == "POST") {
        if (auto refused = Gate::post(req, tls_, session->csrf, fields)) co_return std::move(*refused);
    } else {
        auto parsed = parse_form(req.query);
        if (!parsed) co_return message_page("Bad query", "The query string could not be decoded.", 400);
        fields = std::move(*parsed);
    }
    PageRequest pr{req, viewer, fields, *this};
    co_return co_await page.handler(pr);
}

admin::HttpResponse Console::login_form(const admin::HttpRequest& req, std::string_view next, std::string_view error, int status) const {
    std::string token;
    if (auto c = cookie_value(req, login_cookie_name(tls_)); c && is_token(*c)) token = *c;
    else token = random_token();
    std::string body;
    if (!error.empty()) body += "<p class=\"error\" id=\"error\">" + escape(error) + "</p>\n";
    body += "<form method=\"post\" action=\"/console/login\" id=\"login\">\n"
            "<input type=\"hidden\" name=\"csrf\" value=\"" + escape(token) + "\">\n"
            "<input type=\"hidden\" name=\"next\" value=\"" + escape(safe_next(next)) + "\">\n"
            "<p><label>User <input type=\"text\" name=\"user\" id=\"user\" autocomplete=\"username\" required autofocus></label></p>\n"
            "<p><label>Password <input type=\"password\" name=\"password\" id=\"password\" autocomplete=\"current-password\" required></label></p>\n"
            "<p><button type=\"submit\" id=\"signin\">Sign in</button></p>\n</form>\n";
    if (services_.config)
        if (auto cfg = services_.config())
            body += "<p class=\"preset\">Members of the directory group " + escape(cfg->admin.console_group) + " may sign in.</p>\n";
    admin::HttpResponse r = html_response(layout("Sign in", body, Viewer{}, {}, ""), status);
    r.headers.emplace_back("Set-Cookie", set_cookie(login_cookie_name(tls_), token, tls_));
    return r;
}

asio::awaitable<admin::HttpResponse> Console::login(const admin::HttpRequest& req) const {
    if (auto refused = Gate::host(*this, req)) co_return std::move(*refused);
    if (req.method != "POST") {
        auto query = parse_form(req.query);
        std::string next = query ? std::string(form_value(*query, "next").value_or("/console")) : "/console";
        if (auto id = cookie_value(req, session_cookie_name(tls_)); id && is_token(*id) && sessions_->find(*id))
            co_return see_other(safe_next(next));
        co_return login_form(req, next, "", 200);
    }
    FormFields fields;
    std::string cookie = cookie_value(req, login_cookie_name(tls_)).value_or("");
    if (!is_token(cookie)) cookie.clear();
    if (auto refused = Gate::post(req, tls_, cookie, fields)) co_return std::move(*refused);
    std::string user(form_value(fields, "user").value_or(""));
    std::string password(form_value(fields, "password").value_or(""));
    std::string next = safe_next(form_value(fields, "next").value_or("/console"));
    auto refuse = [&](std::string_view reason) {
        log::info("console.login.failed", {{"client", req.client}, {"user", user.empty() ? "-" : user}, {"reason", reason}});
        return login_form(req, next, kRefused, 403);
    };
    if (user.empty() || password.empty()) co_return refuse("no user name or password");
    std::shared_ptr<const config::Config> cfg = services_.config ? services_.config() : nullptr;
    if (!services_.directory || !cfg) {
        log::info("console.login.failed", {{"client", req.client}, {"user", user}, {"reason", "no directory"}});
        co_return login_form(req, next, "Sign-in is not available: the server has no directory.", 503);
    }
    const std::string ip_key = policy::Brakes::ip_key(req.client);
    const std::string user_key = policy::Brakes::user_key(user);
    policy::Brakes::Attempt attempt;
    if (services_.brakes) {
        policy::Brakes::Begin b = services_.brakes->begin_attempt(ip_key, user_key, console_limits());
        if (!b.ok()) {
            log::warn("console.login.failed", {{"client", req.client}, {"user", user}, {"reason", b.retry.count() > 0 ? "locked" : "busy"},
                                               {"locked", b.blocked}, {"retry_after_s", (b.retry.count() + 999) / 1000}});
            co_return login_form(req, next, kRefused, 403);
        }
        attempt = std::move(b.attempt);
    }
    std::shared_ptr<const directory::Directory> dir = services_.directory->get();
    const directory::User* u = dir->user(user);
    static const auth::HashVerifier kHashes;
    const auth::PasswordVerifier& verifier = services_.verifier ? *services_.verifier : kHashes;
    auth::Check check = co_await verifier.verify(u, std::move(password));
    if (check == auth::Check::Unavailable) {   // the attempt gives its slot back uncounted
        log::info("console.login.failed", {{"client", req.client}, {"user", user}, {"reason", "directory unavailable"}});
        co_return login_form(req, next, "The directory did not answer; try again in a moment.", 503);
    }
    if (check != auth::Check::Valid || !u) {
        policy::Brakes::Failure f;
        if (attempt.active()) f = attempt.failed(user_key, console_limits());
        log::info("console.login.failed", {{"client", req.client}, {"user", user}, {"reason", "invalid credentials"}, {"failures", f.failures}});
        if (f.locked_ip || f.locked_user)
            log::warn("console.login.locked", {{"client", req.client}, {"user", user},
                                               {"locked", f.locked_ip && f.locked_user ? "address,user" : f.locked_ip ? "address" : "user"},
                                               {"duration_s", std::chrono::duration_cast<std::chrono::seconds>(console_limits().auth_lockout_window).count()}});
        co_return login_form(req, next, kRefused, 403);
    }
    // The password is right: the brakes forget the user's failures even if the group check
    // below refuses (the same as a correct SMTP AUTH), unless a lockout began meanwhile.
    if (attempt.active() && !attempt.succeeded(user_key)) {
        log::warn("console.login.failed", {{"client", req.client}, {"user", user}, {"reason", "locked"}});
        co_return login_form(req, next, kRefused, 403);
    }
    const std::string& group = cfg->admin.console_group;
    std::vector<std::string> groups = dir->groups_of(u->name);
    if (std::find(groups.begin(), groups.end(), group) == groups.end()) co_return refuse("not a member of " + group);
    if (auto old = cookie_value(req, session_cookie_name(tls_)); old && is_token(*old)) sessions_->destroy(*old);
    SessionStore::Session s = sessions_->create(u->name);
    log::info("console.login", {{"client", req.client}, {"user", u->name}, {"group", group}});
    admin::HttpResponse r = see_other(next);
    r.headers.emplace_back("Set-Cookie", set_cookie(session_cookie_name(tls_), s.id, tls_));
    r.headers.emplace_back("Set-Cookie", set_cookie(login_cookie_name(tls_), "", tls_, std::chrono::seconds(0)));
    co_return r;
}

asio::awaitable<admin::HttpResponse> Console::logout(const admin::HttpRequest& req) const {
    if (auto refused = Gate::host(*this, req)) co_return std::move(*refused);
    std::optional<SessionStore::Session> session;
    if (auto id = cookie_value(req, session_cookie_name(tls_)); id && is_token(*id)) session = sessions_->find(*id);
    if (!session) co_return see_other("/console/login");
    FormFields fields;
    if (auto refused = Gate::post(req, tls_, session->csrf, fields)) co_return std::move(*refused);
    sessions_->destroy(session->id);
    log::info("console.logout", {{"client", req.client}, {"user", session->user}});
    admin::HttpResponse r = see_other("/console/login");
    r.headers.emplace_back("Set-Cookie", set_cookie(session_cookie_name(tls_), "", tls_, std::chrono::seconds(0)));
    // The browser forgets the pages it kept too: Back after sign-out shows no signed-in page.
    r.headers.emplace_back("Clear-Site-Data", "\"cache\"");
    co_return r;
}

namespace {

std::mutex audit_mutex;
std::filesystem::path audit_path;

std::string utc_now() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace

void set_audit_file(std::filesystem::path path) {
    std::lock_guard lock(audit_mutex);
    audit_path = std::move(path);
}

void audit_change(const Viewer& viewer, std::string_view what, std::string_view detail) {
    log::info("console.change", {{"user", viewer.user}, {"what", std::string(what)}, {"detail", std::string(detail)}});
    nlohmann::json j = {{"time", utc_now()}, {"user", viewer.user}, {"what", std::string(what)}, {"detail", std::string(detail)}};
    std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::lock_guard lock(audit_mutex);
    if (audit_path.empty()) return;
    int fd = ::open(audit_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    bool ok = fd >= 0;
    int err = ok ? 0 : errno;
    if (ok) {
        std::size_t done = 0;
        while (ok && done < line.size()) {
            ssize_t n = ::write(fd, line.data() + done, line.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                ok = false;
                err = errno;
            } else {
                done += static_cast<std::size_t>(n);
            }
        }
        if (ok && ::fsync(fd) != 0) {
            ok = false;
            err = errno;
        }
        ::close(fd);
    }
    if (!ok)
        log::error("console.audit.failed", {{"file", audit_path.string()}, {"error", std::strerror(err)}, {"user", viewer.user},
                                            {"what", std::string(what)}});
}

}  // namespace rampart::console
