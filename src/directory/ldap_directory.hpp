// directory/ldap_directory.hpp — the LDAP backend (`[directory] backend = "ldap"`), with
// OpenLDAP's libldap. Users and groups are read into the same Directory value the file
// backend makes, as a snapshot: at start, on SIGHUP and every ldap_refresh_interval. A failed
// load never replaces a good snapshot. LDAP users have no stored hash: their passwords are
// checked by a simple bind as the user's DN (check_password; auth::LdapBindVerifier runs it on the background pool).
// Organisation servers still come from the directory file.
// Every network call here blocks (bounded by ldap_timeout): never call them on an I/O thread.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "directory/directory.hpp"
#include "util/result.hpp"

namespace rampart::directory {

// ---- pure mapping (unit-tested) ----

// One entry as read: its DN and attribute values, attribute names in lower case.
struct LdapEntry {
    std::string dn;
    std::map<std::string, std::vector<std::string>> attributes;
};

struct LdapSnapshot {
    Directory directory;
    std::vector<std::string> warnings;  // entries skipped and why
};

// RFC 4515 §3: a value placed inside a filter, with * ( ) \ NUL and non-ASCII escaped.
std::string escape_filter_value(std::string_view value);
// A DN in one canonical spelling for comparisons (RFC 4514 syntax, case folded); "" if the
// text is not a DN.
std::string normalize_dn(std::string_view dn);
// Users and groups from search results: names from ldap_user_attribute/ldap_group_attribute,
// addresses (an AD "smtp:" prefix removed), Kerberos principals, group members by DN (users or
// nested groups) or by user name; send_as_any for members of ldap_send_as_any_group.
// Entries without a name, and names held by more than one entry, are left out with a warning.
LdapSnapshot build_directory(const std::vector<LdapEntry>& users, const std::vector<LdapEntry>& groups,
                             const config::DirectorySettings& settings);

// ---- the server ----

// The answer of a bind as a user: the password is right, wrong, or LDAP could not say.
enum class BindCheck { Valid, Invalid, Unavailable };

class LdapDirectory {
public:
    // Copies the settings, with paths resolved against the configuration file.
    explicit LdapDirectory(const config::Config& cfg);

    // Reads every user and group (paged search), plus the servers of the directory file.
    Result<LdapSnapshot> load() const;
    // Binds as `dn` with `password`, after checking (as the service account) that the entry
    // still matches ldap_user_filter with user name `name`.
    BindCheck check_password(const std::string& dn, const std::string& name, const std::string& password) const;

    const config::DirectorySettings& settings() const { return s_; }

private:
    config::DirectorySettings s_;
};

// Keeps `live` current from LDAP on its own thread: every ldap_refresh_interval, and at once
// after reload(). Logs directory.loaded or directory.reload.failed (last snapshot kept).
class LdapRefresher {
public:
    LdapRefresher(const LdapDirectory& ldap, Live& live);
    ~LdapRefresher();
    LdapRefresher(const LdapRefresher&) = delete;
    LdapRefresher& operator=(const LdapRefresher&) = delete;
    void reload();  // returns at once; the load runs on the refresher's thread

private:
    void run();

    const LdapDirectory& ldap_;
    Live& live_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stop_ = false;
    bool wake_ = false;
    std::thread thread_;
};

// Logs a snapshot's size and warnings as directory.loaded (backend=ldap).
void log_loaded(const LdapDirectory& ldap, const LdapSnapshot& snap);

}  // namespace rampart::directory
