// directory/ldap_directory.cpp — talking to the LDAP server: connection (TLS verified),
// paged searches, password binds, and the refresher thread.
#include "directory/ldap_directory.hpp"

#include <ldap.h>
#include <sodium.h>

#include <chrono>
#include <memory>

#include "util/file_io.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace rampart::directory {
namespace {

constexpr int kPageSize = 500;
constexpr int kMaxPages = 20000;  // 10 million entries: a server that never ends paging is broken

struct LdapFree {
    void operator()(LDAP* ld) const { ldap_unbind_ext_s(ld, nullptr, nullptr); }
};
using Handle = std::unique_ptr<LDAP, LdapFree>;

std::string describe(LDAP* ld, int rc) {
    std::string out = ldap_err2string(rc);
    char* diag = nullptr;
    if (ld && ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag) == LDAP_OPT_SUCCESS && diag) {
        if (*diag) out += std::string(" (") + diag + ")";
        ldap_memfree(diag);
    }
    return out;
}

timeval to_timeval(std::chrono::milliseconds ms) {
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(ms);
    return timeval{static_cast<time_t>(secs.count()), static_cast<suseconds_t>((ms - secs).count() * 1000)};
}

// Connected (and StartTLS-upgraded when configured), not yet bound.
Result<Handle> connect(const config::DirectorySettings& s) {
    LDAP* raw = nullptr;
    if (int rc = ldap_initialize(&raw, s.ldap_uri.c_str()); rc != LDAP_SUCCESS)
        return Error{0, s.ldap_uri + ": " + describe(nullptr, rc)};
    Handle ld(raw);
    int version = LDAP_VERSION3;
    ldap_set_option(ld.get(), LDAP_OPT_PROTOCOL_VERSION, &version);
    ldap_set_option(ld.get(), LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    timeval tv = to_timeval(s.ldap_timeout);
    ldap_set_option(ld.get(), LDAP_OPT_NETWORK_TIMEOUT, &tv);
    ldap_set_option(ld.get(), LDAP_OPT_TIMEOUT, &tv);
    int demand = LDAP_OPT_X_TLS_DEMAND;
    ldap_set_option(ld.get(), LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
    if (!s.ldap_ca_file.empty()) ldap_set_option(ld.get(), LDAP_OPT_X_TLS_CACERTFILE, s.ldap_ca_file.c_str());
    int server_ctx = 0;
    ldap_set_option(ld.get(), LDAP_OPT_X_TLS_NEWCTX, &server_ctx);
    if (s.ldap_starttls)
        if (int rc = ldap_start_tls_s(ld.get(), nullptr, nullptr); rc != LDAP_SUCCESS)
            return Error{0, s.ldap_uri + ": StartTLS: " + describe(ld.get(), rc)};
    return ld;
}

int simple_bind(LDAP* ld, const std::string& dn, const std::string& password) {
    berval cred{static_cast<ber_len_t>(password.size()), const_cast<char*>(password.data())};
    return ldap_sasl_bind_s(ld, dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, nullptr);
}

// The service account's bind (anonymous without ldap_bind_dn).
Result<Handle> connect_service(const config::DirectorySettings& s) {
    auto ld = connect(s);
    if (!ld) return ld.error();
    if (s.ldap_bind_dn.empty()) return ld;
    auto secret = util::read_file(s.ldap_bind_password_file);
    if (!secret) return Error{0, "directory.ldap_bind_password_file: " + secret.error().message};
    std::string password = secret->substr(0, secret->find_first_of("\r\n"));
    sodium_memzero(secret->data(), secret->size());
    int rc = simple_bind(ld->get(), s.ldap_bind_dn, password);
    sodium_memzero(password.data(), password.size());
    if (rc != LDAP_SUCCESS) return Error{0, s.ldap_uri + ": bind as " + s.ldap_bind_dn + ": " + describe(ld->get(), rc)};
    return ld;
}

// Every entry under `base` matching `filter`, fetched in pages. Any failure (including a
// server size limit) fails the whole search: a partial directory is never used. The error's
// code is the LDAP result code.
Result<std::vector<LdapEntry>> search(LDAP* ld, const config::DirectorySettings& s, const std::string& base, int scope,
                                      const std::string& filter, const std::vector<std::string>& attributes) {
    std::vector<char*> attrs;
    for (const std::string& a : attributes)
        if (!a.empty()) attrs.push_back(const_cast<char*>(a.c_str()));
    attrs.push_back(nullptr);
    std::vector<LdapEntry> out;
    berval* cookie = nullptr;
    timeval tv = to_timeval(s.ldap_timeout);
    int pages = 0;
    do {
        if (++pages > kMaxPages) {
            ber_bvfree(cookie);
            return Error{0, s.ldap_uri + ": search " + filter + " under " + base + ": more than " + std::to_string(kMaxPages) + " pages"};
        }
        LDAPControl* page = nullptr;
        if (int rc = ldap_create_page_control(ld, kPageSize, cookie, 0, &page); rc != LDAP_SUCCESS) {
            ber_bvfree(cookie);
            return Error{0, "paged results control: " + describe(ld, rc)};
        }
        ber_bvfree(cookie);
        cookie = nullptr;
        LDAPControl* controls[] = {page, nullptr};
        LDAPMessage* res = nullptr;
        int rc = ldap_search_ext_s(ld, base.c_str(), scope, filter.c_str(), attrs.data(), 0, controls, nullptr, &tv,
                                   LDAP_NO_LIMIT, &res);
        ldap_control_free(page);
        if (rc != LDAP_SUCCESS) {
            if (res) ldap_msgfree(res);
            return Error{rc, s.ldap_uri + ": search " + filter + " under " + base + ": " + describe(ld, rc)};
        }
        for (LDAPMessage* e = ldap_first_entry(ld, res); e; e = ldap_next_entry(ld, e)) {
            LdapEntry entry;
            if (char* dn = ldap_get_dn(ld, e)) {
                entry.dn = dn;
                ldap_memfree(dn);
            }
            BerElement* ber = nullptr;
            for (char* a = ldap_first_attribute(ld, e, &ber); a; a = ldap_next_attribute(ld, e, ber)) {
                std::string name = util::ascii_lower(a);
                if (berval** vals = ldap_get_values_len(ld, e, a)) {
                    for (berval** v = vals; *v; ++v) entry.attributes[name].emplace_back((*v)->bv_val, (*v)->bv_len);
                    ldap_value_free_len(vals);
                }
                ldap_memfree(a);
            }
            if (ber) ber_free(ber, 0);
            out.push_back(std::move(entry));
        }
        int err = LDAP_SUCCESS;
        LDAPControl** returned = nullptr;
        rc = ldap_parse_result(ld, res, &err, nullptr, nullptr, nullptr, &returned, 1);
        if (rc != LDAP_SUCCESS || err != LDAP_SUCCESS) {
            ldap_controls_free(returned);
            int code = rc != LDAP_SUCCESS ? rc : err;
            return Error{code, s.ldap_uri + ": search " + filter + " under " + base + ": " + describe(ld, code)};
        }
        if (LDAPControl* pr = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, returned, nullptr)) {
            ber_int_t estimate = 0;
            berval next{0, nullptr};
            if (ldap_parse_pageresponse_control(ld, pr, &estimate, &next) == LDAP_SUCCESS && next.bv_len > 0)
                cookie = ber_bvdup(&next);
            if (next.bv_val) ber_memfree(next.bv_val);
        }
        ldap_controls_free(returned);
    } while (cookie);
    return out;
}

}  // namespace

LdapDirectory::LdapDirectory(const config::Config& cfg) : s_(cfg.directory) {
    s_.file = cfg.resolve(s_.file);
    if (!s_.ldap_ca_file.empty()) s_.ldap_ca_file = cfg.resolve(s_.ldap_ca_file);
    if (!s_.ldap_bind_password_file.empty()) s_.ldap_bind_password_file = cfg.resolve(s_.ldap_bind_password_file);
}

Result<LdapSnapshot> LdapDirectory::load() const {
    auto ld = connect_service(s_);
    if (!ld) return ld.error();
    std::vector<std::string> user_attrs = s_.ldap_address_attributes;
    user_attrs.push_back(s_.ldap_user_attribute);
    user_attrs.push_back(s_.ldap_kerberos_attribute);
    if (!s_.ldap_safe_senders_attribute.empty()) user_attrs.push_back(s_.ldap_safe_senders_attribute);
    auto users = search(ld->get(), s_, s_.ldap_base_dn, LDAP_SCOPE_SUBTREE, s_.ldap_user_filter, user_attrs);
    if (!users) return users.error();
    auto groups = search(ld->get(), s_, s_.ldap_base_dn, LDAP_SCOPE_SUBTREE, s_.ldap_group_filter,
                         {s_.ldap_group_attribute, s_.ldap_member_attribute});
    if (!groups) return groups.error();
    LdapSnapshot snap = build_directory(*users, *groups, s_);
    // Organisation servers (certificate fingerprints) are not in LDAP: they stay in the file.
    auto file = Directory::load(s_.file);
    if (auto* errors = std::get_if<std::vector<std::string>>(&file)) return Error{0, errors->front()};
    snap.directory.servers = std::get<Directory>(std::move(file)).servers;
    return snap;
}

BindCheck LdapDirectory::check_password(const std::string& dn, const std::string& name, const std::string& password) const {
    // An empty password would be an "unauthenticated bind" (RFC 4513 §5.1.2), which servers
    // answer with success: never send one.
    if (password.empty() || dn.empty()) return BindCheck::Invalid;
    auto ld = connect_service(s_);
    if (!ld) {
        log::warn("directory.ldap.unavailable", {{"uri", s_.ldap_uri}, {"error", ld.error().message}});
        return BindCheck::Unavailable;
    }
    // Still a user? (deleted, or no longer matching the filter since the last snapshot)
    std::string filter = "(&" + s_.ldap_user_filter + "(" + s_.ldap_user_attribute + "=" + escape_filter_value(name) + "))";
    auto found = search(ld->get(), s_, dn, LDAP_SCOPE_BASE, filter, {"1.1"});
    if (!found && found.error().code == LDAP_NO_SUCH_OBJECT) return BindCheck::Invalid;
    if (!found) {
        log::warn("directory.ldap.unavailable", {{"uri", s_.ldap_uri}, {"error", found.error().message}});
        return BindCheck::Unavailable;
    }
    if (found->size() != 1) return BindCheck::Invalid;
    int rc = simple_bind(ld->get(), dn, password);
    if (rc == LDAP_SUCCESS) return BindCheck::Valid;
    if (rc == LDAP_INVALID_CREDENTIALS || rc == LDAP_INAPPROPRIATE_AUTH || rc == LDAP_UNWILLING_TO_PERFORM)
        return BindCheck::Invalid;
    log::warn("directory.ldap.unavailable", {{"uri", s_.ldap_uri}, {"error", "bind as " + dn + ": " + describe(ld->get(), rc)}});
    return BindCheck::Unavailable;
}

void log_loaded(const LdapDirectory& ldap, const LdapSnapshot& snap) {
    std::size_t shown = 0;
    for (const std::string& w : snap.warnings)
        if (++shown <= 20) log::warn("directory.ldap.skipped", {{"uri", ldap.settings().ldap_uri}, {"problem", w}});
    log::info("directory.loaded", {{"backend", "ldap"}, {"uri", ldap.settings().ldap_uri}, {"users", snap.directory.users.size()},
                                   {"groups", snap.directory.groups.size()}, {"servers", snap.directory.servers.size()},
                                   {"skipped", snap.warnings.size()}});
}

LdapRefresher::LdapRefresher(const LdapDirectory& ldap, Live& live) : ldap_(ldap), live_(live) {
    thread_ = std::thread([this] { run(); });
}

LdapRefresher::~LdapRefresher() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void LdapRefresher::reload() {
    {
        std::lock_guard lock(mutex_);
        wake_ = true;
    }
    cv_.notify_all();
}

void LdapRefresher::run() {
    std::unique_lock lock(mutex_);
    while (true) {
        cv_.wait_for(lock, ldap_.settings().ldap_refresh_interval, [this] { return stop_ || wake_; });
        if (stop_) return;
        wake_ = false;
        lock.unlock();
        auto snap = ldap_.load();
        if (snap) {
            log_loaded(ldap_, *snap);
            live_.set(std::make_shared<const Directory>(std::move(snap->directory)));
        } else {
            log::error("directory.reload.failed", {{"backend", "ldap"}, {"uri", ldap_.settings().ldap_uri},
                                                   {"error", snap.error().message}, {"action", "kept the previous directory"}});
        }
        lock.lock();
    }
}

}  // namespace rampart::directory
