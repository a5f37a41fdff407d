// config/roles.cpp — preset values per role and listener kind (DESIGN.md §4). Every
// preset: relay list only-list and empty, authenticated users may not relay, submit and
// relay permission lists empty, brakes on. docs/configuration.md shows this table.
#include "config/roles.hpp"

namespace rampart::config {
namespace {

struct RoleRow {
    Role role;
    bool anonymous, basic, integrated, server;
    bool filters;   // the filter chain on the smtp listener (DESIGN.md §11)
    // The edge's from-hub and the hub's from-edge listeners take their access settings
    // from their kind (preset_listener), not from the role's columns.
    std::vector<std::pair<std::string_view, ListenerKind>> listeners;   // default listeners
};

// The DESIGN.md §4 table. basic is off everywhere: it is on only on submission
// listeners, whose purpose is password authentication (RFC 6409).
const RoleRow& row(Role role) {
    static const RoleRow kRows[] = {
        {Role::Gateway, true, false, true, true, true, {{"internet", ListenerKind::Smtp}}},
        {Role::Mailbox, false, false, true, true, false, {{"smtp", ListenerKind::Smtp}}},
        {Role::Frontend, false, false, false, true, false, {{"smtp", ListenerKind::Smtp}}},
        {Role::AllInOne, true, false, true, true, false, {{"internet", ListenerKind::Smtp}, {"submission", ListenerKind::Submission}}},
        {Role::Edge, true, false, false, true, true, {{"internet", ListenerKind::Smtp}, {"from-hub", ListenerKind::FromHub}}},
        {Role::Hub, false, false, true, true, false, {{"from-edge", ListenerKind::FromEdge}}},
    };
    for (const RoleRow& r : kRows)
        if (r.role == role) return r;
    return kRows[3];
}

}  // namespace

std::string_view kind_name(ListenerKind k) {
    for (const auto& [name, kind] : kListenerKinds)
        if (kind == k) return name;
    return "?";
}

Listener preset_listener(Role role, ListenerKind kind) {
    const RoleRow& r = row(role);
    Listener l;
    l.preset = kind;
    l.tls = TlsMode::StartTls;
    AuthSettings& a = l.auth;
    a.anonymous = r.anonymous;
    a.basic = r.basic;
    a.basic_requires_tls = true;
    a.integrated = r.integrated;
    a.server = r.server;
    l.filters = r.filters && kind == ListenerKind::Smtp;
    if (kind == ListenerKind::Submission) {
        // Users only, with passwords after TLS; servers use the smtp listener.
        a.anonymous = false;
        a.basic = true;
        a.server = false;
        l.bind = {Endpoint{"127.0.0.1", 2587}};
    } else if (kind == ListenerKind::FromHub || kind == ListenerKind::FromEdge) {
        // The perimeter's inside link (docs/perimeter.md): organisation servers only, by
        // TLS client certificate; no anonymous mail, no passwords, no filter chain (the
        // other side filtered it). A server principal may relay (DESIGN.md §3.5d).
        a.anonymous = false;
        a.basic = false;
        a.integrated = false;
        a.server = true;
        l.filters = false;
        l.subscribed_edges_only = kind == ListenerKind::FromEdge;
        l.bind = {Endpoint{"127.0.0.1", static_cast<std::uint16_t>(kind == ListenerKind::FromHub ? 2526 : 2525)}};
    } else {
        l.bind = {Endpoint{"127.0.0.1", 2525}};
    }
    // The hub's port-25 listener takes mail only from the edges (DESIGN.md §4): its
    // from-edge listener admits subscribed edges (above). A plain smtp listener on a hub
    // admits only this host; `check` says to list the edges.
    if (role == Role::Hub && kind == ListenerKind::Smtp)
        l.remote_ranges = {*net::Cidr::parse("127.0.0.0/8"), *net::Cidr::parse("::1/128")};
    l.relay = RelaySettings{};
    l.permissions = Permissions{};
    l.limits = ListenerLimits{};
    return l;
}

std::vector<Listener> default_listeners(Role role) {
    std::vector<Listener> out;
    for (const auto& [name, kind] : row(role).listeners) {
        Listener l = preset_listener(role, kind);
        l.name = std::string(name);
        out.push_back(std::move(l));
    }
    return out;
}

ListenerKind default_kind(Role role, std::string_view listener_name) {
    for (const auto& [name, kind] : row(role).listeners)
        if (name == listener_name) return kind;
    return ListenerKind::Smtp;
}

}  // namespace rampart::config
