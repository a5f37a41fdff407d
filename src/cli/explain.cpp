// cli/explain.cpp — `rampart explain`: the live access rules and filter chain, traced, for one imagined session.
#include "cli/commands.hpp"

#include <iostream>
#include <memory>

#include "auth/gssapi.hpp"
#include "auth/kerberos_map.hpp"
#include "filter/explain.hpp"
#include "filter/registry.hpp"
#include "net/cidr.hpp"
#include "policy/explain.hpp"
#include "util/log.hpp"

namespace rampart::cli {

int explain(const std::string& path, const ExplainArgs& args) {
    auto cfg = load(path);
    if (!cfg) return kConfigError;
    policy::ExplainQuestion q;
    for (const auto& l : cfg->listeners)
        if (l.name == args.listener) q.facts.listener = &l;
    if (!q.facts.listener) {
        std::cerr << "--listener: no listener named \"" << args.listener << "\" in " << cfg->source << "\n";
        return kConfigError;
    }
    auto ip = net::IpAddress::parse(args.client_ip);
    if (!ip) {
        std::cerr << "--client-ip: \"" << args.client_ip << "\" is not an IPv4 or IPv6 address\n";
        return kConfigError;
    }
    q.facts.client = ip->unmapped();
    q.facts.domains = &cfg->domains;
    q.facts.connectors = &cfg->send_connectors;
    q.facts.tls = args.tls || q.facts.listener->tls == config::TlsMode::Implicit;
    // The directory a live session asks (either backend), read once.
    // --user, --server and --kerberos are looked up in it too (with LDAP, servers come from
    // the directory file inside the same snapshot).
    auto read = read_configured_directory(*cfg);
    if (!read) return kConfigError;
    auto d = std::make_shared<const directory::Directory>(std::move(*read));
    q.facts.directory = d;
    if (!args.user.empty()) {
        q.facts.principal = {policy::Principal::Kind::User, args.user, {}, {}, false};
        const directory::User* u = d->user(args.user);
        if (!u) {
            std::cerr << "--user: no user named \"" << args.user << "\" in the directory\n";
            return kConfigError;
        }
        q.facts.principal.groups = d->groups_of(u->name);
        q.facts.principal.addresses = u->addresses;
        q.facts.principal.send_as_any = u->send_as_any;
    }
    if (!args.server.empty()) {
        if (!d->server(args.server)) {
            std::cerr << "--server: no server named \"" << args.server << "\" in the directory (add it with `rampart server add`)\n";
            return kConfigError;
        }
        if (!q.facts.listener->auth.server || q.facts.listener->tls == config::TlsMode::None) {
            // Live, such a client cannot authenticate at all (AUTH EXTERNAL needs both).
            std::cout << "listener " << q.facts.listener->name << " does not authenticate organisation servers "
                      << "(needs auth.server = true and TLS): server:" << args.server << " would stay anonymous\n";
            return 1;
        }
        q.facts.principal = {policy::Principal::Kind::Server, args.server, {}, {}, false};
    }
    if (!args.kerberos.empty()) {
        // What a live AUTH GSSAPI login does: offered only with integrated on and a keytab,
        // then the same mapping (auth/kerberos_map.hpp).
        if (!q.facts.listener->auth.integrated || !auth::gssapi_settings(*cfg)) {
            std::cout << "kerberos " << args.kerberos << ": listener " << q.facts.listener->name
                      << (q.facts.listener->auth.integrated ? " has no [kerberos] keytab" : " has auth.integrated off") << "\n"
                      << "AUTH GSSAPI: 504 5.5.4 authentication mechanism not offered on this listener\n";
            return 1;
        }
        std::optional<auth::KerberosMatch> m = auth::map_kerberos(*d, args.kerberos, cfg->kerberos.realm);
        if (!m) {
            std::cout << "kerberos " << args.kerberos << ": no directory user or server (users.kerberos, servers.kerberos, kerberos.realm)\n"
                      << "AUTH GSSAPI: 535 5.7.8 authentication credentials invalid\n";
            return 1;
        }
        std::cout << "kerberos " << args.kerberos << ": " << m->principal.text() << " (" << m->rule << ")\n";
        q.facts.principal = std::move(m->principal);
    }
    q.mail_from = args.mail_from;
    q.rcpts = args.rcpts;
    log::set_min_level(log::Level::Warning);   // the trace says it all; no verdict log lines
    filter::Chain chain;
    try {
        chain = filter::build_chain(*cfg);
    } catch (const std::exception& e) {
        std::cerr << cfg->source << ": " << e.what() << "\n";
        return 1;
    }
    filter::ChainExplainer filters(chain, q.facts.listener->filters, args.online);
    policy::ExplainAnswer a = policy::explain(q, &filters);
    std::cout << a.text;
    return a.all_accepted ? 0 : 1;
}

}  // namespace rampart::cli
