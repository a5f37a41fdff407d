// cli/explain.cpp — `rampart explain`: the live access rules and filter chain, traced, for one imagined session
// (with --message FILE through the end of data).
#include "cli/commands.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "admin/control.hpp"
#include "auth/gssapi.hpp"
#include "auth/kerberos_map.hpp"
#include "dns/resolver.hpp"
#include "filter/block_list.hpp"
#include "filter/explain.hpp"
#include "filter/registry.hpp"
#include "net/cidr.hpp"
#include "policy/brakes.hpp"
#include "policy/explain.hpp"
#include "server/server.hpp"
#include "session/back_pressure.hpp"
#include "session/received.hpp"
#include "smtp/data_reader.hpp"
#include "util/log.hpp"

namespace rampart::cli {
namespace {

constexpr std::string_view kLiveState = "live-state ";

// The live state from a running server's answer to "live-state LISTENER CLIENT USER|-";
// nullopt when no server answered (the trace then says "live-only: not evaluated offline").
std::optional<policy::ExplainQuestion::LiveState> parse_live_state(const std::optional<std::string>& response) {
    if (!response || response->rfind("ok\n", 0) != 0) return std::nullopt;
    policy::ExplainQuestion::LiveState live;
    std::istringstream in(response->substr(3));
    std::string key;
    std::uint64_t value = 0;
    int seen = 0;
    while (in >> key >> value) {
        ++seen;
        if (key == "connections_listener") live.connections.listener = static_cast<std::uint32_t>(value);
        else if (key == "connections_source") live.connections.source = static_cast<std::uint32_t>(value);
        else if (key == "auth_locked_ms") live.locked = std::chrono::milliseconds(value);
        else if (key == "messages_this_hour") live.usage.messages = value;
        else if (key == "recipients_this_hour") live.usage.recipients = value;
        else {
            --seen;
            // Back pressure (optional: an older server does not send it). Percentages in
            // thousandths of a percent.
            if (key == "back_pressure_disk" || key == "back_pressure_queue") {
                if (!live.pressure) live.pressure.emplace();
                auto level = static_cast<policy::PressureLevel>(std::min<std::uint64_t>(value, 3));
                (key == "back_pressure_disk" ? live.pressure->disk : live.pressure->queue) = level;
            } else if (live.pressure && key == "disk_free_millipercent") {
                live.pressure->measure.disk_free_percent = static_cast<double>(value) / 1000.0;
            } else if (live.pressure && key == "inodes_free_millipercent") {
                live.pressure->measure.inodes_free_percent = static_cast<double>(value) / 1000.0;
            } else if (live.pressure && key == "queue_messages") {
                live.pressure->measure.queue_messages = value;
            }
        }
    }
    if (seen != 5) return std::nullopt;   // an older server: say nothing rather than guess
    return live;
}

// The message as a live session would store it: line ends CRLF (an .eml on disk often
// has bare LF, which a live session never lets through).
std::optional<std::string> read_message_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::stringstream ss;
    ss << in.rdbuf();
    std::string raw = ss.str(), out;
    out.reserve(raw.size() + raw.size() / 32);
    for (std::size_t i = 0; i < raw.size(); ++i) {
        char c = raw[i];
        if (c == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n') {
            out += "\r\n";
            ++i;
        } else if (c == '\r' || c == '\n') {
            out += "\r\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string pressure_answer(const policy::PressureState& p) {
    auto milli = [](double v) { return std::to_string(static_cast<std::uint64_t>(v * 1000.0 + 0.5)); };
    std::string out = "back_pressure_disk " + std::to_string(static_cast<int>(p.disk)) + "\nback_pressure_queue " +
                      std::to_string(static_cast<int>(p.queue)) + "\nqueue_messages " + std::to_string(p.measure.queue_messages) + "\n";
    if (p.measure.disk_free_percent) out += "disk_free_millipercent " + milli(*p.measure.disk_free_percent) + "\n";
    if (p.measure.inodes_free_percent) out += "inodes_free_millipercent " + milli(*p.measure.inodes_free_percent) + "\n";
    return out;
}

}  // namespace

bool is_live_state_request(const std::string& request) { return request.rfind(kLiveState, 0) == 0; }

std::string live_state_answer(server::Server& server, policy::Brakes& brakes, const session::BackPressure& back_pressure,
                              const std::string& request) {
    std::istringstream in(request.substr(kLiveState.size()));
    std::string listener, client, user;
    if (!(in >> listener >> client >> user)) return "error\nusage: live-state LISTENER CLIENT USER|-\n";
    policy::ConnectionCounts c = server.connection_counts(listener, client);
    std::chrono::milliseconds locked{0};
    if (auto left = brakes.locked(policy::Brakes::ip_key(client))) locked = *left;
    policy::Brakes::Usage usage;
    if (user != "-") {
        if (auto left = brakes.locked(policy::Brakes::user_key(user))) locked = std::max(locked, *left);
        usage = brakes.usage("user:" + user);   // the key the session's Reservation uses (Principal::text)
    }
    return "ok\nconnections_listener " + std::to_string(c.listener) + "\nconnections_source " + std::to_string(c.source) +
           "\nauth_locked_ms " + std::to_string(locked.count()) + "\nmessages_this_hour " + std::to_string(usage.messages) +
           "\nrecipients_this_hour " + std::to_string(usage.recipients) + "\n" + pressure_answer(back_pressure.state());
}

console::ExplainResult run_explain(const config::Config& config, const ExplainArgs& args,
                                   std::shared_ptr<const directory::Directory> d, const LiveStateAsk& ask_live) {
    const config::Config* cfg = &config;
    console::ExplainResult res;
    std::ostringstream out;
    auto fail = [&res, &out](std::string error, int status) {
        res.preamble = out.str();
        res.error = std::move(error);
        res.exit_status = status;
        return res;
    };
    policy::ExplainQuestion q;
    for (const auto& l : cfg->listeners)
        if (l.name == args.listener) q.facts.listener = &l;
    if (!q.facts.listener) return fail("--listener: no listener named \"" + args.listener + "\" in " + cfg->source, kConfigError);
    auto ip = net::IpAddress::parse(args.client_ip);
    if (!ip) return fail("--client-ip: \"" + args.client_ip + "\" is not an IPv4 or IPv6 address", kConfigError);
    q.facts.client = ip->unmapped();
    q.facts.domains = &cfg->domains;
    q.facts.connectors = &cfg->send_connectors;
    q.facts.tls = args.tls || q.facts.listener->tls == config::TlsMode::Implicit;
    if (q.facts.listener->subscribed_edges_only) {   // rule from-edge.pinned: the hub's subscribed edges
        std::vector<std::string> ignored;   // an unreadable file is simply not an edge here (serve logs it)
        q.facts.edges = std::make_shared<const std::vector<config::PinnedEdge>>(
            config::read_pinned_edges(config::hub_edges_dir(cfg->resolve(cfg->server.data_dir)), ignored));
    }
    // The directory a live session asks (either backend).
    // --user, --server and --kerberos are looked up in it too (with LDAP, servers come from
    // the directory file inside the same snapshot).
    q.facts.directory = d;
    if (!args.user.empty()) {
        q.facts.principal = {policy::Principal::Kind::User, args.user, {}, {}, false};
        const directory::User* u = d->user(args.user);
        if (!u) return fail("--user: no user named \"" + args.user + "\" in the directory", kConfigError);
        q.facts.principal.groups = d->groups_of(u->name);
        q.facts.principal.addresses = u->addresses;
        q.facts.principal.send_as_any = u->send_as_any;
    }
    if (!args.server.empty()) {
        if (!d->server(args.server))
            return fail("--server: no server named \"" + args.server + "\" in the directory (add it with `rampart server add`)",
                        kConfigError);
        if (!q.facts.listener->auth.server || q.facts.listener->tls == config::TlsMode::None) {
            // Live, such a client cannot authenticate at all (AUTH EXTERNAL needs both).
            res.preamble = "listener " + q.facts.listener->name + " does not authenticate organisation servers " +
                           "(needs auth.server = true and TLS): server:" + args.server + " would stay anonymous\n";
            res.exit_status = 1;
            return res;
        }
        q.facts.principal = {policy::Principal::Kind::Server, args.server, {}, {}, false};
    }
    if (!args.kerberos.empty()) {
        // What a live AUTH GSSAPI login does: offered only with integrated on and a keytab,
        // then the same mapping (auth/kerberos_map.hpp).
        if (!q.facts.listener->auth.integrated || !auth::gssapi_settings(*cfg)) {
            res.preamble = "kerberos " + args.kerberos + ": listener " + q.facts.listener->name +
                           (q.facts.listener->auth.integrated ? " has no [kerberos] keytab" : " has auth.integrated off") +
                           "\nAUTH GSSAPI: 504 5.5.4 authentication mechanism not offered on this listener\n";
            res.exit_status = 1;
            return res;
        }
        std::optional<auth::KerberosMatch> m = auth::map_kerberos(*d, args.kerberos, cfg->kerberos.realm);
        if (!m) {
            res.preamble = "kerberos " + args.kerberos +
                           ": no directory user or server (users.kerberos, servers.kerberos, kerberos.realm)\n"
                           "AUTH GSSAPI: 535 5.7.8 authentication credentials invalid\n";
            res.exit_status = 1;
            return res;
        }
        out << "kerberos " << args.kerberos << ": " << m->principal.text() << " (" << m->rule << ")\n";
        q.facts.principal = std::move(m->principal);
    }
    q.mail_from = args.mail_from;
    q.rcpts = args.rcpts;
    q.hostname = cfg->server.hostname;
    q.size = args.size;
    q.smtputf8 = args.smtputf8;
    q.received_headers = args.received_count;
    std::optional<std::string> message;
    if (!args.message.empty()) {
        message = read_message_file(args.message);
        if (!message) return fail("--message: cannot read \"" + args.message + "\"", kConfigError);
        if (!q.received_headers) q.received_headers = smtp::count_received_headers(*message);   // as live
    }
    q.back_pressure = cfg->back_pressure;
    // The limit a live session announces with SIZE and checks SIZE= against (same function).
    session::SizeLimitFacts sf{args.ehlo, q.facts.client.text(), cfg->server.hostname, q.facts.tls, {}};
    if (q.facts.principal.kind == policy::Principal::Kind::Server) sf.server_principal = q.facts.principal.text();
    q.size_limit = session::message_size_limit(q.facts.listener->limits.max_message_size, sf);
    // Connections, AUTH lockout and hourly counts: from the running server, if one answers.
    std::string user = q.facts.principal.kind == policy::Principal::Kind::User ? q.facts.principal.name : std::string();
    q.live = parse_live_state(ask_live(std::string(kLiveState) + q.facts.listener->name + " " + q.facts.client.text() + " " +
                                       (user.empty() ? "-" : user)));
    res.live = q.live.has_value();
    if (q.live) out << "live state: from the running server's control socket\n";
    // The dynamic block list as the running server keeps it (data_dir), and with --online
    // a resolver for the DNS lists.
    filter::BlockList block_list(cfg->resolve(cfg->server.data_dir) / filter::kBlockListFile);
    if (auto r = block_list.load(); !r) return fail(r.error().message, 1);
    std::unique_ptr<dns::Resolver> resolver;
    if (args.online) resolver = std::make_unique<dns::Resolver>(cfg->dns);
    filter::Chain chain;
    try {
        chain = filter::build_chain(*cfg, filter::ChainServices{resolver.get(), &block_list});
    } catch (const std::exception& e) {
        return fail(cfg->source + ": " + e.what(), 1);
    }
    filter::ChainExplainer filters(chain, q.facts.listener->filters, args.online);
    if (message) filters.set_message(std::move(*message));
    res.preamble = out.str();
    res.answer = policy::explain(q, &filters);
    res.exit_status = res.answer->all_accepted ? 0 : 1;
    return res;
}

int explain(const std::string& path, const ExplainArgs& args) {
    auto cfg = load(path);
    if (!cfg) return kConfigError;
    // The directory a live session asks (either backend), read once.
    auto read = read_configured_directory(*cfg);
    if (!read) return kConfigError;
    auto d = std::make_shared<const directory::Directory>(std::move(*read));
    std::filesystem::path socket = admin::control_socket_path(cfg->resolve(cfg->server.data_dir));
    log::set_min_level(log::Level::Warning);   // the trace says it all; no verdict log lines
    console::ExplainResult r = run_explain(*cfg, args, std::move(d), [&socket](const std::string& request) {
        auto r = admin::control_request(socket, request);
        return r ? std::optional<std::string>(std::move(*r)) : std::nullopt;
    });
    if (!r.error.empty()) std::cerr << r.error << "\n";
    std::cout << r.preamble;
    if (r.answer) std::cout << r.answer->text;
    return r.exit_status;
}

}  // namespace rampart::cli
