// cli/commands.hpp — the subcommands behind `rampart ...` (cli.cpp parses the command
// line and calls one). Each returns the exit status: 0 success, 1 runtime failure (check:
// exposures found), 2 configuration error. Only the CLI wires modules together.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/subscription.hpp"
#include "console/explain_service.hpp"
#include "directory/directory.hpp"
#include "directory/ldap_directory.hpp"
#include "util/result.hpp"

namespace rampart::server {
class Server;
}
namespace rampart::policy {
class Brakes;
}
namespace rampart::session {
class BackPressure;
}
namespace rampart::tracking {
class Recorder;
}

namespace rampart::cli {

constexpr int kConfigError = 2;
constexpr int kExposures = 1;   // `check`: the configuration loads but departs from best practice

// ---- common.cpp ----
// Loads -c FILE or the embedded default; prints every error and returns nullopt.
std::optional<config::Config> load(const std::string& path);
// Reads the directory file; prints every problem (to the log for a running server's
// reload, where standard error may go nowhere) and returns nullopt on errors.
std::optional<directory::Directory> read_directory(const std::filesystem::path& path, bool to_log = false);
// The configured directory backend, chosen here and nowhere else: its first snapshot and,
// for backend = "ldap", the connection that refreshes it and checks passwords (the file
// backend reloads on SIGHUP through read_directory). `serving`: log what was loaded (the
// server) rather than print warnings (the tools). nullopt after printing why.
struct OpenedDirectory {
    directory::Directory snapshot;
    std::unique_ptr<directory::LdapDirectory> ldap;
};
std::optional<OpenedDirectory> open_directory(const config::Config& cfg, bool serving);
// The snapshot alone, read once (user/group list, explain).
std::optional<directory::Directory> read_configured_directory(const config::Config& cfg);
// A control-socket answer ("ok" or "error" on the first line, then the text) to stdout or
// stderr; a failed request to stderr. Returns the exit status (0 for "ok", else 1).
int print_control_response(const Result<std::string>& response);

// ---- serve.cpp ----
int serve(const std::string& path);

// ---- sendmail_client.cpp: rampart sendmail (argv after "sendmail"; sysexits.h status), install ----
int sendmail_command(const std::vector<std::string>& args);
int install_command(const std::string& prefix, bool force);

// ---- directory_commands.cpp: rampart user|server|group|alias ----
struct DirArgs {
    std::string name;
    std::vector<std::string> addresses;
    std::vector<std::string> groups;
    std::vector<std::string> members;
    bool send_as_any = false;
    std::vector<std::string> kerberos;
};
int user_command(const std::string& config_path, const std::string& action, const DirArgs& a);
int server_command(const std::string& config_path, const std::string& action, const DirArgs& a, const std::string& cert_file,
                   const std::string& fingerprint);
int group_command(const std::string& config_path, const std::string& action, const DirArgs& a);
int alias_command(const std::string& config_path, const std::string& action, const DirArgs& a);

// ---- queue_client.cpp: rampart queue|quarantine over the control socket ----
// `prefix`: "" for rampart queue, "quarantine " for rampart quarantine (same socket).
int queue_command(const std::string& path, const std::string& prefix, const std::string& action, const std::string& id, bool all,
                  bool json);

// ---- block_client.cpp: rampart block add|del|list ----
struct BlockArgs {
    std::string action;    // add | del | list
    std::string prefix;
    std::string expires;   // add: a duration ("24h"); empty: until removed
    std::string reason;
    bool json = false;
};
int block_command(const std::string& path, const BlockArgs& a);

// ---- audit_command.cpp: rampart audit HOST[:PORT] (docs/audit.md) ----
struct AuditArgs {
    std::string target;
    bool json = false;
    bool verbose = false;
    bool send_data = false;
    std::string from;
    std::string to;
    std::string to_domain;
    std::string foreign_domain;
    std::string mx_domain;
    std::string helo;
    int timeout_seconds = 10;
};
int audit_command(const AuditArgs& args);
// ---- track.cpp: rampart track (reads data_dir/tracking.db, no server needed) ----
struct TrackArgs {
    std::string id, sender, recipient, client, since, until, status;
    std::size_t limit = 100;
    bool json = false;
};
int track_command(const std::string& path, const TrackArgs& a);
// The server's recorder for data_dir/tracking.db ([tracking]); null when tracking is off or
// the store cannot be opened (logged as tracking.unavailable: mail flows without it).
std::unique_ptr<tracking::Recorder> start_tracking(const config::Config& cfg, const std::filesystem::path& data_dir);
// ---- perimeter.cpp: rampart edge new-subscription, rampart hub add-edge|remove-edge ----
int edge_new_subscription(const std::string& config_path, const std::string& out_path, const std::string& address,
                          const std::string& hub);
int hub_add_edge(const std::string& config_path, const std::string& file);
int hub_remove_edge(const std::string& config_path, const std::string& name);
// The hub's pinned edges (data_dir/hub/edges), problems logged; the edge's pinned hub
// (data_dir/edge/hub.pem) added to `dir` as the organisation server "hub" (from-hub listener).
std::vector<config::PinnedEdge> load_pinned_edges(const config::Config& cfg);
void add_pinned_hub(directory::Directory& dir, const config::Config& cfg);
// `rampart check`: edges that cannot be read, a "*" connector of the file's own that shadows them.
std::vector<std::string> perimeter_warnings(const config::Config& cfg);

// ---- explain.cpp ----
struct ExplainArgs {
    std::string listener;
    std::string client_ip;
    std::string user;
    std::string server;
    std::string kerberos;
    bool tls = false;
    bool online = false;
    std::string mail_from;
    std::vector<std::string> rcpts;
    std::string ehlo = "client.example";       // counted in the Received header (size limit)
    std::optional<std::uint64_t> size;         // MAIL ... SIZE=
    bool smtputf8 = false;                     // MAIL ... SMTPUTF8
    std::optional<std::size_t> received_count; // Received header fields in the message
    std::string message;                       // --message FILE: run the end of data on it
};
int explain(const std::string& path, const ExplainArgs& args);
// The control-socket request "live-state ..." and its answer (nullopt: no server answered).
using LiveStateAsk = std::function<std::optional<std::string>(const std::string& request)>;
// `explain`'s work on a loaded configuration and directory (the command and the console's
// explain page both run it); the live state is asked through `ask_live`.
console::ExplainResult run_explain(const config::Config& cfg, const ExplainArgs& args,
                                   std::shared_ptr<const directory::Directory> d, const LiveStateAsk& ask_live);
// The control-socket request "live-state LISTENER CLIENT USER|-" (cli/explain.cpp): what
// only a running server knows for `explain` — connections open on the listener and from
// the client, the AUTH lockout left for the client or user, the user's hourly usage.
bool is_live_state_request(const std::string& request);
// Also the back-pressure state (levels and the numbers behind them).
std::string live_state_answer(server::Server& server, policy::Brakes& brakes, const session::BackPressure& back_pressure,
                              const std::string& request);

// ---- replication_commands.cpp: rampart hub sync --now, rampart edge status|test-recipient ----
int hub_sync_command(const std::string& path);
int edge_status_command(const std::string& path, bool json);
// Exit 0: known, 1: unknown, 2: no replica or an error.
int edge_test_recipient_command(const std::string& path, const std::string& address);

}  // namespace rampart::cli
