// cli/cli.cpp — the command line: subcommands serve, check, explain, user, group, alias, server, queue,
// quarantine, block, audit, track, install, default-config, settings, version, parsed with CLI11 (sendmail is parsed apart, sendmail(8)-style); each runs a function of cli/commands.hpp.
// Exit status: 0 success, 1 runtime failure (check: exposures found), 2 configuration error.
#include "cli/cli.hpp"

#include <filesystem>
#include <iostream>
#include <string_view>

#include <CLI/CLI.hpp>

#include "auth/gssapi.hpp"
#include "cli/commands.hpp"
#include "config/check.hpp"
#include "config/load.hpp"
#include "config/settings.hpp"
#include "cli/man.hpp"

namespace rampart::cli {
namespace {
// Every subcommand and its options, for rampart(8).
std::vector<CommandDoc> command_docs(const CLI::App& app) {
    std::vector<CommandDoc> out;
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
        CommandDoc d{sub->get_name(), sub->get_description(), {}};
        for (const CLI::Option* o : sub->get_options()) {
            std::string name = o->get_name(false, true);
            if (name == "-h,--help") continue;
            if (name.empty()) name = o->get_name(true);
            std::string type = o->get_type_name();
            if (o->get_expected_min() > 0 && !type.empty() && name.rfind("-", 0) == 0) name += " " + type;
            d.options.emplace_back(name, o->get_description());
        }
        out.push_back(std::move(d));
    }
    return out;
}
}  // namespace

int run(int argc, char** argv) {
    // sendmail(8)'s command line is not CLI11's (-oi, -t, -fADDR): run as `sendmail`
    // (the symlink of `rampart install`) or `rampart sendmail`, it is parsed apart.
    if (argc >= 1 && std::filesystem::path(argv[0]).filename() == "sendmail")
        return sendmail_command(std::vector<std::string>(argv + 1, argv + argc));
    if (argc >= 2 && std::string_view(argv[1]) == "sendmail")
        return sendmail_command(std::vector<std::string>(argv + 2, argv + argc));
    CLI::App app{"rampart " RAMPART_VERSION " — a locked-down SMTP transport server"};
    app.require_subcommand(1);
    std::string config_path;

    auto* serve_cmd = app.add_subcommand("serve", "Run the server (embedded default configuration without -c)");
    serve_cmd->add_option("-c,--config", config_path, "Configuration file (TOML)");
    auto* check_cmd = app.add_subcommand("check", "Load a configuration (errors with file:line, exit 2), then list every departure from the role's presets and what it exposes (exit 1 if any exposes more than the preset, 0 if none)");
    check_cmd->add_option("-c,--config", config_path, "Configuration file (TOML)");
    ExplainArgs ex;
    auto* explain_cmd = app.add_subcommand(
        "explain", "Show every access rule, limit and filter agent evaluated for a transaction, as a live session would decide it (end of data only with --message FILE; connection limits, AUTH lockout and hourly limits with the running server's state, asked over data_dir/control.sock; offline they are shown as live-only); exit 0 if all recipients are accepted, 1 if not");
    explain_cmd->add_option("-c,--config", config_path, "Configuration file (TOML)");
    explain_cmd->add_option("--listener", ex.listener, "Listener name")->required();
    explain_cmd->add_option("--client-ip", ex.client_ip, "Client address")->required();
    auto* user_opt = explain_cmd->add_option("--user", ex.user, "Authenticated user name");
    auto* server_opt = explain_cmd->add_option("--server", ex.server, "Organisation server name")->excludes(user_opt);
    explain_cmd->add_option("--kerberos", ex.kerberos, "Kerberos principal authenticated with GSSAPI (NAME@REALM), mapped as a live login maps it")
        ->excludes(user_opt)
        ->excludes(server_opt);
    explain_cmd->add_flag("--tls", ex.tls, "The session uses TLS");
    explain_cmd->add_flag("--online", ex.online, "Also run the filter agents that ask the network (DNS block lists, daemons); without it they are shown as not evaluated");
    explain_cmd->add_option("--mail-from", ex.mail_from, "Sender address (\"\" for the null sender)")->required();
    explain_cmd->add_option("--rcpt", ex.rcpts, "Recipient address (repeatable; limits.max_recipients counts them)")->required();
    explain_cmd->add_option("--ehlo", ex.ehlo, "EHLO name the client sends (our Received header, and so the size limit, counts it)")
        ->capture_default_str();
    explain_cmd->add_option("--size", ex.size, "SIZE= declared on MAIL FROM (checked against limits.max_message_size)");
    explain_cmd->add_flag("--smtputf8", ex.smtputf8, "MAIL FROM carries SMTPUTF8 (without it, non-ASCII addresses are refused as live)");
    explain_cmd->add_option("--received-count", ex.received_count,
                            "Received header fields in the message: checks limits.max_received_headers at the end of data");
    explain_cmd->add_option("--message", ex.message,
                            "A message file (.eml): also run the end of data as live (hop count, and the end-of-data filter agents: attachment filter, transport rules, ...; network agents only with --online). Without it explain stops before the end of data");
    DirArgs da;
    std::string user_action, group_action;
    auto* user_cmd = app.add_subcommand("user", "Manage users in the directory file: add|del|passwd|list (passwords are read from standard input); with backend = \"ldap\" only list");
    user_cmd->add_option("action", user_action, "add | del | passwd | list")->required()->check(CLI::IsMember({"add", "del", "passwd", "list"}));
    user_cmd->add_option("name", da.name, "User name");
    user_cmd->add_option("-c,--config", config_path, "Configuration file (TOML)");
    user_cmd->add_option("--address", da.addresses, "An address the user may send as (repeatable)");
    user_cmd->add_option("--group", da.groups, "A group the user belongs to (repeatable)");
    user_cmd->add_flag("--send-as-any", da.send_as_any, "The user may send as any address");
    user_cmd->add_option("--kerberos", da.kerberos, "A Kerberos principal (NAME@REALM) that logs in as this user with GSSAPI (repeatable)");
    auto* group_cmd = app.add_subcommand("group", "Manage groups in the directory file: add (create or add members)|del|list; with backend = \"ldap\" only list");
    group_cmd->add_option("action", group_action, "add | del | list")->required()->check(CLI::IsMember({"add", "del", "list"}));
    group_cmd->add_option("name", da.name, "Group name");
    group_cmd->add_option("-c,--config", config_path, "Configuration file (TOML)");
    group_cmd->add_option("--member", da.members, "user:NAME or group:NAME (repeatable)");
    std::string server_action, server_cert, server_fingerprint;
    auto* server_cmd = app.add_subcommand(
        "server", "Manage organisation servers (TLS client certificates for SASL EXTERNAL, Kerberos principals for GSSAPI) in the directory file: add|del|list");
    server_cmd->add_option("action", server_action, "add | del | list")->required()->check(CLI::IsMember({"add", "del", "list"}));
    server_cmd->add_option("name", da.name, "Server name (its principal is server:NAME)");
    server_cmd->add_option("-c,--config", config_path, "Configuration file (TOML)");
    server_cmd->add_option("--certificate", server_cert, "PEM file with the server's certificate; its SHA-256 fingerprint is stored");
    server_cmd->add_option("--fingerprint", server_fingerprint, "The certificate's SHA-256 fingerprint instead of --certificate (hex, colons allowed)");
    server_cmd->add_option("--kerberos", da.kerberos, "A Kerberos principal (service/host@REALM) that logs in as this server with GSSAPI (repeatable)");
    server_cmd->add_option("--address", da.addresses, "Client address or prefix the server connects from (repeatable; none: any)");
    std::string alias_action;
    auto* alias_cmd = app.add_subcommand("alias", "Manage aliases in the directory file: add (create or add targets)|del|list");
    alias_cmd->add_option("action", alias_action, "add | del | list")->required()->check(CLI::IsMember({"add", "del", "list"}));
    alias_cmd->add_option("address", da.name, "The alias address, local@domain");
    alias_cmd->add_option("-c,--config", config_path, "Configuration file (TOML)");
    alias_cmd->add_option("--target", da.members, "user:NAME or an address, local or remote (repeatable)");
    std::string queue_action, queue_id;
    bool queue_all = false, queue_json = false;
    auto* queue_cmd = app.add_subcommand(
        "queue", "Inspect and manage the queue of the running server (control socket in data_dir): list | show ID | retry ID|--all | hold ID | release ID | delete ID (no report) | bounce ID (report to the sender)");
    queue_cmd->add_option("action", queue_action, "list | show | retry | hold | release | delete | bounce")
        ->required()
        ->check(CLI::IsMember({"list", "show", "retry", "hold", "release", "delete", "bounce"}));
    queue_cmd->add_option("id", queue_id, "Queue id");
    queue_cmd->add_flag("--all", queue_all, "retry: every deferred message");
    queue_cmd->add_flag("--json", queue_json, "Machine-readable output (JSON)");
    queue_cmd->add_option("-c,--config", config_path, "Configuration file (TOML) of the running server");

    std::string quarantine_action, quarantine_id;
    auto* quarantine_cmd = app.add_subcommand(
        "quarantine", "Messages a filter agent quarantined (held in the spool of the running server): list | show ID | release ID (deliver it) | delete ID");
    quarantine_cmd->add_option("action", quarantine_action, "list | show | release | delete")
        ->required()
        ->check(CLI::IsMember({"list", "show", "release", "delete"}));
    quarantine_cmd->add_option("id", quarantine_id, "Queue id");
    quarantine_cmd->add_flag("--json", queue_json, "Machine-readable output (JSON)");
    quarantine_cmd->add_option("-c,--config", config_path, "Configuration file (TOML) of the running server");
    BlockArgs block_args;
    auto* block_cmd = app.add_subcommand(
        "block", "The dynamic IP block list of the running server (applied at once, kept in data_dir): add PREFIX [--expires 24h] [--reason TEXT] | del PREFIX | list [--json]");
    block_cmd->add_option("action", block_args.action, "add | del | list")->required()->check(CLI::IsMember({"add", "del", "list"}));
    block_cmd->add_option("prefix", block_args.prefix, "Address or prefix: 198.51.100.7, 198.51.100.0/24, 2001:db8::/32");
    block_cmd->add_option("--expires", block_args.expires, "add: remove the entry after this long (\"30m\", \"24h\", \"7d\"); default: until removed");
    block_cmd->add_option("--reason", block_args.reason, "add: why (shown in the 550 reply, the log and the list)");
    block_cmd->add_flag("--json", block_args.json, "list: machine-readable output (JSON)");
    block_cmd->add_option("-c,--config", config_path, "Configuration file (TOML) of the running server");
    AuditArgs audit_args;
    auto* audit_cmd = app.add_subcommand(
        "audit", "Probe any SMTP server HOST[:PORT] (default port 25) for open relaying, SMTP smuggling, STARTTLS injection, AUTH in clear, bare-LF commands, VRFY/EXPN disclosure and unauthenticated pipelining (docs/audit.md); exit 1 if anything is open, 0 if clean, 2 on a usage or connection error");
    audit_cmd->add_option("target", audit_args.target, "HOST, HOST:PORT or [IPv6]:PORT")->required();
    audit_cmd->add_flag("--json", audit_args.json, "Machine-readable report (JSON)");
    audit_cmd->add_flag("-v,--verbose", audit_args.verbose, "Show the dialogue of every finding, not only of open and inconclusive ones");
    audit_cmd->add_option("--from", audit_args.from, "Sender of the relay, pipelining and smuggling tests (default rampart-audit@example.org)");
    audit_cmd->add_option("--to-domain", audit_args.to_domain, "The server's own domain (default: from its greeting)");
    audit_cmd->add_option("--to", audit_args.to, "A recipient the server accepts, for the pipelining and smuggling tests (default postmaster@DOMAIN)");
    audit_cmd->add_option("--foreign-domain", audit_args.foreign_domain, "The domain the relay tests try to relay to (default example.net)");
    audit_cmd->add_option("--mx-domain", audit_args.mx_domain, "A domain you control whose MX points at the server: also try relaying to it (the MX trick)");
    audit_cmd->add_option("--helo", audit_args.helo, "EHLO name (default rampart-audit.example)");
    audit_cmd->add_option("--timeout", audit_args.timeout_seconds, "Seconds to wait for each reply, connect and handshake (default 10)");
    audit_cmd->add_flag("--send-data", audit_args.send_data, "Allow the smuggling test to send real messages to --to (off: that test is inconclusive)");
    TrackArgs track_args;
    auto* track_cmd = app.add_subcommand(
        "track", "Message tracking: every event of the matching messages (received, filter verdicts, queued, delivery attempts, reports, quarantine) and, for refused mail, which rule or agent refused it and why, refusals at RCPT included; reads data_dir/tracking.db (also while the server runs). Most recent first; exit 1 if nothing matches");
    track_cmd->add_option("-c,--config", config_path, "Configuration file (TOML) of the server");
    track_cmd->add_option("--id", track_args.id, "Tracking id (X-Rampart-Tracking-Id) or queue id");
    track_cmd->add_option("--sender", track_args.sender, "Envelope sender (case-insensitive, exact; \"\" for the null sender is not searchable)");
    track_cmd->add_option("--recipient", track_args.recipient, "A recipient, accepted or refused (case-insensitive, exact)");
    track_cmd->add_option("--client", track_args.client, "Client IP address");
    track_cmd->add_option("--since", track_args.since, "Messages with an event at or after: RFC 3339 (2026-12-01T17:00:00Z) or a time ago (\"1h\", \"2d\")");
    track_cmd->add_option("--until", track_args.until, "Messages with an event at or before: RFC 3339 or a time ago");
    track_cmd->add_option("--status", track_args.status, "delivered | refused | quarantined | deferred | bounced")
        ->check(CLI::IsMember({"delivered", "refused", "quarantined", "deferred", "bounced"}));
    track_cmd->add_option("--limit", track_args.limit, "At most this many messages (default 100)");
    track_cmd->add_flag("--json", track_args.json, "Machine-readable output (JSON)");
    // The perimeter (docs/perimeter.md): subscription, and replication (docs/architecture.md "Replication").
    bool sync_now = false, edge_json = false;
    std::string edge_address, sub_out, sub_address, sub_hub, hub_arg;
    auto* hub_cmd = app.add_subcommand("hub", "Role hub: the edges' subscriptions and replication to them (docs/perimeter.md)");
    hub_cmd->require_subcommand(1);
    auto* hub_add = hub_cmd->add_subcommand("add-edge", "Import an edge's subscription file: pin its certificate, admit it on the from-edge listener, send outbound mail to it, replicate to it");
    hub_add->add_option("-c,--config", config_path, "Configuration file (TOML) of the hub");
    hub_add->add_option("subscription", hub_arg, "The file `rampart edge new-subscription` wrote")->required();
    auto* hub_remove = hub_cmd->add_subcommand("remove-edge", "End an edge's subscription: its certificate is no longer admitted");
    hub_remove->add_option("-c,--config", config_path, "Configuration file (TOML) of the hub");
    hub_remove->add_option("name", hub_arg, "The edge's name (its host name)")->required();
    auto* hub_sync_cmd = hub_cmd->add_subcommand("sync", "Push configuration and recipients to every edge now (running hub, control socket); prints the result per edge");
    hub_sync_cmd->add_flag("--now", sync_now, "Push at once (required)")->required();
    hub_sync_cmd->add_option("-c,--config", config_path, "Configuration file (TOML) of the running hub");
    auto* edge_cmd = app.add_subcommand("edge", "Role edge: the subscription to a hub and the replicated state (docs/perimeter.md)");
    edge_cmd->require_subcommand(1);
    auto* edge_new_sub = edge_cmd->add_subcommand(
        "new-subscription", "Write a subscription file for the hub (edge name, addresses, TLS certificate, one-time bootstrap secret valid [edge] bootstrap_lifetime); stdout without --out");
    edge_new_sub->add_option("-c,--config", config_path, "Configuration file (TOML) of the edge");
    edge_new_sub->add_option("--out", sub_out, "Write the file here (mode 0600) instead of stdout");
    edge_new_sub->add_option("--address", sub_address, "The edge's address as the hub reaches it (needed when the listeners bind 0.0.0.0 or ::)");
    edge_new_sub->add_option("--hub", sub_hub, "The hub's server.hostname: only that hub may import the file and make the first push");
    auto* edge_status_cmd = edge_cmd->add_subcommand("status", "Last sync per kind, its age, serial, errors and hub name (from data_dir)");
    edge_status_cmd->add_flag("--json", edge_json, "Machine-readable output (JSON)");
    edge_status_cmd->add_option("-c,--config", config_path, "Configuration file (TOML)");
    auto* edge_test_cmd = edge_cmd->add_subcommand("test-recipient", "Exit 0 if the replicated recipients know ADDR, 1 if not, 2 on error");
    edge_test_cmd->add_option("address", edge_address, "The address to test")->required();
    edge_test_cmd->add_option("-c,--config", config_path, "Configuration file (TOML)");
    auto* default_cmd = app.add_subcommand("default-config", "Print the embedded default configuration");
    auto* settings_cmd = app.add_subcommand("settings", "Print the reference of every configuration key (Markdown)");
    std::string man_section, man_dir;
    settings_cmd->add_option("--man", man_section, "Print a man page instead: 8 for rampart(8), 5 for rampart.toml(5)")->check(CLI::IsMember({"5", "8"}));
    settings_cmd->add_option("--man-dir", man_dir, "Write both man pages to DIR/man8/rampart.8 and DIR/man5/rampart.toml.5");
    auto* version_cmd = app.add_subcommand("version", "Print the version");
    // Listed for --help; `rampart sendmail ARGS` never reaches CLI11 (see above).
    app.add_subcommand("sendmail", "Submit the message on standard input to the local server as the calling Unix user (sendmail(8) options -t -i -f -F -bm; `rampart sendmail --help`)");
    std::string install_prefix = "/usr";
    bool install_force = false;
    auto* install_cmd = app.add_subcommand("install", "Install the sendmail symlink (PREFIX/sbin/sendmail -> this binary) when absent");
    install_cmd->add_option("--prefix", install_prefix, "Installation prefix")->capture_default_str();
    install_cmd->add_flag("--force", install_force, "Replace an existing PREFIX/sbin/sendmail");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int status = app.exit(e);
        // audit promises 2 for a usage error (--help still exits 0).
        return audit_cmd->parsed() && status != 0 ? kConfigError : status;
    }
    if (*serve_cmd) return serve(config_path);
    if (*check_cmd) {
        auto cfg = load(config_path);
        if (!cfg) return kConfigError;
        for (const std::string& w : auth::integrated_warnings(*cfg)) std::cerr << cfg->source << ": warning: " << w << "\n";
        for (const std::string& w : perimeter_warnings(*cfg)) std::cerr << cfg->source << ": warning: " << w << "\n";
        std::cout << cfg->source << ": configuration OK (role " << config::role_name(cfg->server.role) << ", "
                  << cfg->listeners.size() << " listener(s), " << cfg->domains.size() << " accepted domain(s), "
                  << cfg->send_connectors.size() << " send connector(s))\n";
        // Best practice: every departure from the role preset and what it exposes.
        std::vector<config::Finding> findings = config::analyse(*cfg);
        std::cout << config::render_findings(*cfg, findings);
        bool exposed = std::any_of(findings.begin(), findings.end(),
                                   [](const config::Finding& f) { return f.severity != config::Severity::Info; });
        return exposed ? kExposures : 0;
    }
    if (*explain_cmd) return explain(config_path, ex);
    if (*user_cmd || *group_cmd || *server_cmd || *alias_cmd) {
        const std::string& action = *user_cmd ? user_action : *group_cmd ? group_action : *server_cmd ? server_action : alias_action;
        if (action != "list" && da.name.empty()) {
            std::cerr << "a name is required for " << action << "\n";
            return kConfigError;
        }
        if (*server_cmd) return server_command(config_path, action, da, server_cert, server_fingerprint);
        if (*alias_cmd) return alias_command(config_path, action, da);
        return *user_cmd ? user_command(config_path, action, da) : group_command(config_path, action, da);
    }
    if (*queue_cmd) return queue_command(config_path, "", queue_action, queue_id, queue_all, queue_json);
    if (*quarantine_cmd) return queue_command(config_path, "quarantine ", quarantine_action, quarantine_id, false, queue_json);
    if (*audit_cmd) return audit_command(audit_args);
    if (*block_cmd) {
        if (block_args.action != "list" && block_args.prefix.empty()) {
            std::cerr << block_args.action << ": give an address or prefix\n";
            return kConfigError;
        }
        return block_command(config_path, block_args);
    }
    if (*track_cmd) return track_command(config_path, track_args);
    if (*hub_sync_cmd) return hub_sync_command(config_path);
    if (*edge_status_cmd) return edge_status_command(config_path, edge_json);
    if (*edge_test_cmd) return edge_test_recipient_command(config_path, edge_address);
    if (*edge_new_sub) return edge_new_subscription(config_path, sub_out, sub_address, sub_hub);
    if (*hub_add) return hub_add_edge(config_path, hub_arg);
    if (*hub_remove) return hub_remove_edge(config_path, hub_arg);
    if (*default_cmd) {
        std::cout << config::default_config_text();
        return 0;
    }
    if (*settings_cmd && !man_dir.empty()) {
        if (auto r = write_man_pages(man_dir, command_docs(app)); !r) {
            std::cerr << r.error().message << "\n";
            return 1;
        }
        return 0;
    }
    if (*settings_cmd && !man_section.empty()) {
        std::cout << (man_section == "8" ? man_rampart(command_docs(app)) : man_toml(config::settings_reference()));
        return 0;
    }
    if (*settings_cmd) {
        std::cout << config::settings_reference();
        return 0;
    }
    if (*install_cmd) return install_command(install_prefix, install_force);
    if (*version_cmd) {
        std::cout << "rampart " RAMPART_VERSION "\n";
        return 0;
    }
    return 0;
}

}  // namespace rampart::cli
