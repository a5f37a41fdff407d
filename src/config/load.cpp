// config/load.cpp — parses TOML with toml++, applies each key through the settings table,
// then checks the whole for consistency. Collects every error; never stops at the first.
#include "config/load.hpp"

#include <strings.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "config/check.hpp"
#include "config/roles.hpp"
#include "config/settings.hpp"
#include "config/subscription.hpp"
#include "config/table.hpp"
#include "config/toml_nesting.hpp"
#include "config/units.hpp"

namespace rampart::config {

std::string ConfigError::text() const {
    std::string out = file;
    if (line > 0) out += ":" + std::to_string(line);
    out += ": ";
    if (!key.empty()) out += key + ": ";
    out += problem;
    if (!fix.empty()) out += " (" + fix + ")";
    return out;
}

std::string Endpoint::text() const {
    if (!host.empty() && host.front() == '/') return host;   // unix socket (delivery.lmtp)
    return host.find(':') != std::string::npos ? "[" + host + "]:" + std::to_string(port)
                                               : host + ":" + std::to_string(port);
}

std::string_view role_name(Role r) {
    for (const auto& [name, role] : kRoles)
        if (role == r) return name;
    return "?";
}

namespace {

// backend = "ldap": the server and base must be named, and passwords (the service's and the
// users' binds) may cross the network only inside TLS.
void check_ldap(const DirectorySettings& d, Ctx& ctx) {
    const int no_line = 0;
    std::string_view uri = d.ldap_uri;
    bool ldaps = uri.rfind("ldaps://", 0) == 0;
    if (!ldaps && uri.rfind("ldap://", 0) != 0) {
        ctx.error(no_line, "directory.ldap_uri", uri.empty() ? "backend = \"ldap\" needs the LDAP server" : "\"" + d.ldap_uri + "\" is not an ldap:// or ldaps:// URI",
                  "ldap_uri = \"ldaps://ldap.example.test\"");
    } else if (!ldaps && !d.ldap_starttls) {
        std::string_view host = uri.substr(7);
        host = host.substr(0, host.find('/'));
        bool loopback = host.rfind("127.", 0) == 0 || host.rfind("localhost", 0) == 0 || host.rfind("[::1]", 0) == 0;
        if (!loopback)
            ctx.error(no_line, "directory.ldap_uri", "passwords would cross the network in clear to " + std::string(host),
                      "use ldaps://, or set ldap_starttls = true");
    }
    if (d.ldap_base_dn.empty())
        ctx.error(no_line, "directory.ldap_base_dn", "backend = \"ldap\" needs the subtree to search", "ldap_base_dn = \"dc=example,dc=test\"");
    if (!d.ldap_bind_dn.empty() && d.ldap_bind_password_file.empty())
        ctx.error(no_line, "directory.ldap_bind_password_file", "ldap_bind_dn is set but no password file", "ldap_bind_password_file = \"ldap.secret\"");
    for (const auto& [key, value] : {std::pair{"ldap_user_filter", &d.ldap_user_filter}, std::pair{"ldap_group_filter", &d.ldap_group_filter}})
        if (value->size() < 2 || value->front() != '(' || value->back() != ')')
            ctx.error(no_line, std::string("directory.") + key, "\"" + *value + "\" is not a parenthesised LDAP filter",
                      "e.g. \"(objectClass=inetOrgPerson)\"");
    for (const auto& [key, value] : {std::pair{"ldap_user_attribute", &d.ldap_user_attribute},
                                     std::pair{"ldap_group_attribute", &d.ldap_group_attribute},
                                     std::pair{"ldap_member_attribute", &d.ldap_member_attribute}})
        if (value->empty()) ctx.error(no_line, std::string("directory.") + key, "must not be empty", "an attribute name");
}

// The edge subscription (docs/perimeter.md). A subscribed edge (data_dir/edge/hub.pem
// exists) takes its accepted domains and connectors from the hub, as an Exchange edge does:
// its own are refused. A hub with subscribed edges sends everything outside its accepted
// domains to them: an implicit connector for "*", unless the file has its own.
void check_perimeter(Config& c, Ctx& ctx) {
    std::filesystem::path data = c.resolve(c.server.data_dir);
    std::error_code ec;
    if (c.server.role == Role::Edge && std::filesystem::exists(edge_hub_pin(data), ec)) {
        const char* fix = "this edge is subscribed; accepted domains and connectors come from the hub: remove them here and change them on the hub";
        for (const Domain& d : c.domains) ctx.error(d.line, "domains", "accepted domain \"" + d.name + "\" configured on a subscribed edge", fix);
        for (const SendConnector& s : c.send_connectors)
            ctx.error(s.line, "send_connectors", "send connector \"" + s.name + "\" configured on a subscribed edge", fix);
    }
    // An edge's other send connector: everything that is not the hub's (the replicated
    // routes win for its domains) leaves for the Internet by MX. Implicit, so that a
    // subscribed edge (which may not configure connectors) has it from the first push on.
    if (c.server.role == Role::Edge && c.send_connectors.empty()) {
        SendConnector to_internet;
        to_internet.name = "to-internet";
        to_internet.address_spaces = {"*"};
        to_internet.route = Route::Mx;
        to_internet.implicit = true;
        c.send_connectors.push_back(std::move(to_internet));
    }
    if (c.server.role != Role::Hub) return;
    bool own_default = std::any_of(c.send_connectors.begin(), c.send_connectors.end(), [](const SendConnector& s) {
        return std::find(s.address_spaces.begin(), s.address_spaces.end(), "*") != s.address_spaces.end();
    });
    if (own_default) return;   // `rampart check` says that it shadows the edges
    std::vector<std::string> problems;
    // The edges subscribed when the configuration loads (`rampart check` shows them); a
    // running hub follows later add-edge / remove-edge through Dispatcher::set_default_routes.
    if (auto to_edges = edges_connector(c, read_pinned_edges(hub_edges_dir(data), problems)))
        c.send_connectors.push_back(std::move(*to_edges));
}

void check_whole(Config& c, Ctx& ctx) {
    const int no_line = 0;
    // No [[listeners]]: the role's default listeners (DESIGN.md §4), on loopback.
    if (c.listeners.empty()) c.listeners = default_listeners(c.server.role);
    std::set<std::string> names, binds;
    for (std::size_t i = 0; i < c.listeners.size(); ++i) {
        Listener& l = c.listeners[i];
        std::string key = "listeners[" + std::to_string(i) + "]";
        if (l.name.empty()) ctx.error(l.line, key + ".name", "listener has no name", "name = \"internet\"");
        else if (!names.insert(l.name).second)
            ctx.error(l.line, key + ".name", "duplicate listener name \"" + l.name + "\"", "give each listener its own name");
        if (l.bind.empty()) ctx.error(l.line, key + ".bind", "listener binds no address", "bind = [\"127.0.0.1:2525\"]");
        for (const Endpoint& e : l.bind)
            if (!binds.insert(e.text()).second)
                ctx.error(l.line, key + ".bind", "address " + e.text() + " is bound by two listeners", "each address:port once");
        if (l.remote_ranges.empty()) {
            l.remote_ranges.push_back(*net::Cidr::parse("0.0.0.0/0"));
            l.remote_ranges.push_back(*net::Cidr::parse("::/0"));
        }
        if (!l.internet_facing) l.internet_facing = admits_public_addresses(l.remote_ranges);
        // The one place an open relay is refused, for serve and check alike.
        if (std::string why = open_relay(l); !why.empty() && !l.relay.force_open_relay)
            ctx.error(l.line, key + ".relay", "this relay setting makes an open relay: " + why,
                      "list the hosts that may relay with mode = \"only-list\", e.g. list = [\"192.0.2.10/32\"]"
                      "; relay.force_open_relay = true accepts it, dangerously");
    }
    if (c.server.local_submission_line && !c.server.local_submission.empty() && !names.count(c.server.local_submission))
        ctx.error(c.server.local_submission_line, "server.local_submission", "no listener named \"" + c.server.local_submission + "\"",
                  "the name of a [[listeners]] entry, or \"\" to turn `rampart sendmail` off");
    std::set<std::string> domains;
    for (const Domain& d : c.domains)
        if (!domains.insert(d.name).second)
            ctx.error(no_line, "domains", "domain \"" + d.name + "\" is listed twice", "list each accepted domain once");
    std::set<std::string> connectors;
    for (std::size_t i = 0; i < c.send_connectors.size(); ++i) {
        const SendConnector& s = c.send_connectors[i];
        std::string key = "send_connectors[" + std::to_string(i) + "]";
        if (s.name.empty()) ctx.error(s.line, key + ".name", "send connector has no name", "name = \"internet\"");
        else if (!connectors.insert(s.name).second)
            ctx.error(s.line, key + ".name", "duplicate send connector \"" + s.name + "\"", "unique names");
        if (s.address_spaces.empty())
            ctx.error(s.line, key + ".address_spaces", "no address space", "address_spaces = [\"*\"]");
        if (s.route == Route::Smarthost && s.smarthosts.empty())
            ctx.error(s.line, key + ".smarthosts", "route = \"smarthost\" needs at least one smart host",
                      "smarthosts = [\"relay.example.test:25\"]");
        if (s.auth_user.empty() != s.auth_password_file.empty())
            ctx.error(s.line, key + (s.auth_user.empty() ? ".auth_user" : ".auth_password_file"),
                      "smart-host authentication needs both auth_user and auth_password_file", "set both, or neither");
        if (!s.auth_user.empty() && (s.route != Route::Smarthost || s.tls == OutboundTls::None || s.tls == OutboundTls::Opportunistic))
            ctx.error(s.line, key + ".auth_user", "credentials are sent only to smart hosts over TLS",
                      "route = \"smarthost\" with tls = \"required\" or \"verify\"");
        if (s.certificate.empty() != s.key.empty())
            ctx.error(s.line, key + (s.certificate.empty() ? ".certificate" : ".key"), "a client certificate needs both certificate and key",
                      "set both, or neither");
    }
    check_perimeter(c, ctx);
    if (!c.tls.certificate.empty() && c.tls.key.empty())
        ctx.error(no_line, "tls.key", "a certificate is set but no key", "key = \"key.pem\"");
    if (c.tls.certificate.empty() && !c.tls.key.empty())
        ctx.error(no_line, "tls.certificate", "a key is set but no certificate", "certificate = \"cert.pem\"");
    if (c.directory.backend != "file" && c.directory.backend != "ldap")
        ctx.error(no_line, "directory.backend", "unknown backend \"" + c.directory.backend + "\"", "file | ldap");
    if (c.directory.backend == "ldap") check_ldap(c.directory, ctx);
    for (const auto& [d, m] : c.delivery.per_domain) {
        const std::string& name = d;   // clang 14 (the fuzz build) cannot capture a structured binding
        auto it = std::find_if(c.domains.begin(), c.domains.end(), [&](const Domain& x) { return x.name == name; });
        if (it == c.domains.end() || it->type != DomainType::Authoritative)
            ctx.error(no_line, "delivery.per_domain." + d, "not an authoritative domain", "list it in [[domains]] with type = \"authoritative\", or remove it");
    }
    bool lmtp_used = c.delivery.local == LocalDelivery::Lmtp;
    for (const auto& [d, m] : c.delivery.per_domain) lmtp_used = lmtp_used || m == LocalDelivery::Lmtp;
    if (lmtp_used && c.delivery.lmtp.host.empty())
        ctx.error(no_line, "delivery.lmtp", "local delivery over LMTP needs the LMTP server", "lmtp = \"127.0.0.1:24\" or lmtp = \"/run/dovecot/lmtp\"");
}

}  // namespace

LoadResult load_text(std::string_view text, const std::string& source, const std::string& base_dir) {
    Ctx ctx{source, {}};
    Config c;
    c.source = source;
    c.base_dir = base_dir;
    if (auto deep = find_excessive_nesting(text)) {   // before toml++, which would overflow the stack
        ctx.error(deep->line, "", too_deep_problem(*deep), std::string(too_deep_fix()));
        return std::move(ctx.errors);
    }
    toml::table root;
    try {
        root = toml::parse(text, source);
    } catch (const toml::parse_error& e) {
        ctx.error(static_cast<int>(e.source().begin.line), "", std::string(e.description()), "fix the TOML syntax");
        return std::move(ctx.errors);
    }
    apply_document(root, c, ctx);
    if (ctx.errors.empty()) check_whole(c, ctx);
    if (!ctx.errors.empty()) {
        // toml++ iterates keys in sorted order; report in file order instead.
        std::stable_sort(ctx.errors.begin(), ctx.errors.end(),
                         [](const ConfigError& a, const ConfigError& b) { return a.line < b.line; });
        return std::move(ctx.errors);
    }
    return c;
}

LoadResult load_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::vector<ConfigError>{{path, 0, "", "cannot read the configuration file", "check the path given with -c"}};
    std::stringstream ss;
    ss << in.rdbuf();
    std::filesystem::path p = std::filesystem::absolute(path);
    return load_text(ss.str(), path, p.parent_path().string());
}

}  // namespace rampart::config
