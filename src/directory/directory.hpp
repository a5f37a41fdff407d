// directory/directory.hpp — users, groups, organisation servers and aliases (DESIGN.md §10), the
// embedded file backend. Managed with `rampart user|group ...`; read by `serve`.
// Passwords are stored only as hashes (argon2id from libsodium, or yescrypt "$y$").
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "util/live.hpp"
#include "util/result.hpp"

namespace rampart::directory {

struct User {
    std::string name;
    std::vector<std::string> addresses;   // addresses this user may send as
    std::vector<std::string> groups;      // direct memberships
    std::string password;                 // hash only
    bool send_as_any = false;
    std::vector<std::string> kerberos;    // Kerberos principals "name@REALM" that are this user
    std::string dn;                       // LDAP backend: the entry; its password is checked by a bind
};

struct Group {
    std::string name;
    std::vector<std::string> members;     // "user:NAME" or "group:NAME"
};

// An address that delivers elsewhere (DESIGN.md §10 directory file, `rampart alias`).
// Targets: "user:NAME" (that user's first address) or any address, local or remote;
// local targets that are aliases again are expanded in turn (directory/mailbox.hpp).
struct Alias {
    std::string address;
    std::vector<std::string> targets;
};

struct Server {
    std::string name;
    std::vector<std::string> addresses;
    std::string fingerprint;              // SHA-256 of the certificate, lower-case hex (net/certificate.hpp)
    std::vector<std::string> kerberos;    // Kerberos principals (smtp/host@REALM) of this server
};

class Directory {
public:
    // A missing file is an empty directory; anything malformed is an error per problem,
    // each "file:line: problem".
    static std::variant<Directory, std::vector<std::string>> load(const std::filesystem::path& path);
    // The same from the file's text; `path` names it in the errors (fuzzed:
    // tests/fuzz/directory_loader).
    static std::variant<Directory, std::vector<std::string>> parse(std::string_view text, const std::filesystem::path& path);
    // Atomic replace: temporary file, fsync, rename, fsync of the directory.
    Result<Ok> save(const std::filesystem::path& path) const;
    std::string to_toml() const;

    const User* user(std::string_view name) const;
    User* user(std::string_view name);
    const Group* group(std::string_view name) const;
    const Server* server(std::string_view name) const;
    // The server whose certificate has this (normalised) fingerprint, or null.
    const Server* server_by_fingerprint(std::string_view fingerprint) const;
    // Every group the user belongs to, directly or through nested groups (cycles are safe).
    std::vector<std::string> groups_of(std::string_view user) const;

    std::vector<User> users;
    std::vector<Group> groups;
    std::vector<Server> servers;
    std::vector<Alias> aliases;
    // User name → the addresses and domains whose mail skips the content filter for that
    // user (`safe_senders` on [[users]]; asked through directory/safe_senders.hpp only).
    std::map<std::string, std::vector<std::string>, std::less<>> safe_senders;
};

// The live directory, swappable while sessions run (reload on SIGHUP). A session takes a
// snapshot when it needs one; a reload never changes a snapshot already taken. A class
// rather than an alias so that headers can forward-declare it.
class Live final : public util::Live<Directory> {
public:
    using util::Live<Directory>::Live;
};

}  // namespace rampart::directory
