// policy/access.cpp — the rules as data: each table is evaluated in order, the first
// decision that is not Pass wins, and nobody saying yes means refusal (locked down).
#include "policy/access.hpp"

#include <algorithm>

#include "config/address_space.hpp"
#include "directory/mailbox.hpp"
#include "policy/brakes.hpp"
#include "util/text.hpp"

namespace rampart::policy {

std::string_view verdict_name(Verdict v) {
    switch (v) {
        case Verdict::Pass: return "pass";
        case Verdict::Accept: return "accept";
        case Verdict::Refuse: return "refuse";
    }
    return "?";
}

std::string Principal::text() const {
    switch (kind) {
        case Kind::Anonymous: return "anonymous";
        case Kind::User: return "user:" + name;
        case Kind::Server: return "server:" + name;
    }
    return "?";
}

namespace {

struct RcptQuestion {
    const SessionFacts& s;
    const smtp::Path& sender;
    const smtp::Path& rcpt;
    const config::Domain* domain;   // accepted domain of the recipient, if any
    std::size_t accepted;           // recipients accepted so far in this transaction
};

Decision pass(std::string note) { return Decision{Verdict::Pass, {}, {}, std::move(note)}; }
Decision accept(std::string_view rule, std::string note, smtp::Reply reply) {
    return Decision{Verdict::Accept, std::move(reply), rule, std::move(note)};
}
Decision refuse(std::string_view rule, smtp::Reply reply) {
    std::string note = reply.text;
    return Decision{Verdict::Refuse, std::move(reply), rule, std::move(note)};
}

smtp::Reply rcpt_ok() { return smtp::Reply(250, "2.1.5", "recipient ok"); }

template <class Q>
struct Rule {
    std::string_view name;
    Decision (*check)(const Q&);
};

template <class Q>
Decision decide(std::span<const Rule<Q>> rules, const Q& q, Decision fallback, Trace* trace) {
    for (const Rule<Q>& rule : rules) {
        Decision d = rule.check(q);
        if (d.rule.empty()) d.rule = rule.name;
        if (trace) trace->add(rule.name, d);
        if (d.verdict != Verdict::Pass) return d;
    }
    if (trace) trace->add(fallback.rule, fallback);
    return fallback;
}

bool in_relay_list(const SessionFacts& s) {
    const config::RelaySettings& r = s.listener->relay;
    bool listed = std::any_of(r.list.begin(), r.list.end(), [&](const net::Cidr& c) { return c.contains(s.client); });
    return r.mode == config::RelayMode::OnlyList ? listed : !listed;
}

// ---- RCPT TO rules, in DESIGN.md §3 order ----
const Rule<RcptQuestion> kRcptRules[] = {
    {"limits.max_recipients",
     [](const RcptQuestion& q) {
         std::uint32_t max = q.s.listener->limits.max_recipients;
         if (q.accepted >= max) return refuse("limits.max_recipients", smtp::Reply(452, "4.5.3", "too many recipients"));
         return pass(std::to_string(q.accepted) + " recipient(s) accepted so far, limit " + std::to_string(max));
     }},
    {"address.routing_characters",
     [](const RcptQuestion& q) {
         // "u%outside.test@example.test", "outside.test!u@example.test", "\"u@outside\"@example.test":
         // we never interpret these; refusing them keeps every such address from being
         // mistaken for a local mailbox or forwarded by a later hop.
         std::string local = q.rcpt.mailbox.local_unquoted();
         if (q.domain && local.find_first_of("%!@") != std::string::npos)
             return refuse("address.routing_characters",
                           smtp::Reply(550, "5.1.3", "recipient local part contains routing characters (% ! @)"));
         return pass(q.domain ? "no routing characters in the local part" : "recipient is outside the accepted domains");
     }},
    {"recipient.known",
     [](const RcptQuestion& q) {
         // DESIGN.md §3.4: unknown recipients in authoritative domains, where the directory can tell.
         if (q.rcpt.mailbox.domain.empty()) return pass("<Postmaster> is always accepted (RFC 5321 §4.5.1)");
         if (!q.domain || q.domain->type != config::DomainType::Authoritative)
             return pass(q.domain ? q.domain->name + " is not authoritative: mailboxes live elsewhere" : "recipient is outside the accepted domains");
         // directory::resolve is what delivery classifies the recipient with, too: never a
         // 250 here for what delivery would refuse.
         std::string address = q.rcpt.mailbox.key();
         directory::Resolved r = directory::resolve(q.s.directory.get(), q.rcpt.mailbox.text());
         using Kind = directory::Resolved::Kind;
         switch (r.kind) {
             case Kind::User: return pass(address + " is an address of user:" + r.user->name);
             case Kind::Alias: return pass(address + " is an alias");
             case Kind::AliasLoop:
                 return refuse("recipient.known", smtp::Reply(550, "5.4.6", "alias loop: the alias expands to no mailbox"));
             case Kind::Postmaster: return pass("postmaster is always accepted (RFC 5321 §4.5.1)");
             case Kind::Catchall:
                 if (!q.s.directory) return pass("no directory to ask: every local part accepted");
                 return pass("the directory holds no address in " + q.domain->name + ": every local part accepted");
             case Kind::Unknown: break;
         }
         return refuse("recipient.known", smtp::Reply(550, "5.1.1", "no such recipient here"));
     }},
    {"domains",
     [](const RcptQuestion& q) {
         if (q.rcpt.null || q.rcpt.mailbox.domain.empty())  // <Postmaster>
             return accept("domains", "postmaster of this server", rcpt_ok());
         if (q.domain)
             return accept("domains", "submit: " + q.domain->name + " is an accepted domain", rcpt_ok());
         return pass("relay: " + q.rcpt.mailbox.domain_key() + " is not an accepted domain");
     }},
    {"relay.list",
     [](const RcptQuestion& q) {
         if (in_relay_list(q.s))
             return accept("relay.list", "client " + q.s.client.text() + " passes the relay list", rcpt_ok());
         return pass("client " + q.s.client.text() + " does not pass the relay list");
     }},
    {"relay.allow_authenticated",
     [](const RcptQuestion& q) {
         if (q.s.principal.kind == Principal::Kind::User && q.s.listener->relay.allow_authenticated)
             return accept("relay.allow_authenticated", "authenticated users may relay on this listener", rcpt_ok());
         return pass(q.s.listener->relay.allow_authenticated ? "client is not an authenticated user" : "off");
     }},
    {"permissions.relay",
     [](const RcptQuestion& q) {
         if (q.s.principal.kind == Principal::Kind::User && grant_matches(q.s.listener->permissions.relay, q.s.principal))
             return accept("permissions.relay", q.s.principal.text() + " is granted relay", rcpt_ok());
         return pass(q.s.principal.text() + " is not granted relay");
     }},
    {"principal.server",
     [](const RcptQuestion& q) {
         if (q.s.principal.kind == Principal::Kind::Server)
             return accept("principal.server", q.s.principal.text() + " is an organisation server", rcpt_ok());
         return pass("client is not an organisation server");
     }},
};

struct MailQuestion {
    const SessionFacts& s;
    const smtp::Path& sender;
    const MailFacts& m;
};

const Rule<MailQuestion> kMailRules[] = {
    {"limits.max_message_size",
     [](const MailQuestion& q) {
         // The limit counts the Received header we add (MailFacts::size_limit); SIZE= is
         // the client's promise (RFC 1870 §6), the end of data checks the real size.
         std::string limit = std::to_string(q.m.size_limit);
         if (!q.m.declared_size) return pass("no SIZE= declared (limit " + limit + " bytes)");
         if (*q.m.declared_size > q.m.size_limit)
             return refuse("limits.max_message_size",
                           smtp::Reply(552, "5.3.4", "message size exceeds the limit of " + limit + " bytes"));
         return pass("SIZE=" + std::to_string(*q.m.declared_size) + " within the limit of " + limit + " bytes");
     }},
    {"auth.anonymous",
     [](const MailQuestion& q) {
         if (q.s.principal.anonymous() && !q.s.listener->auth.anonymous)
             return refuse("auth.anonymous", smtp::Reply(530, "5.7.0", "authentication required"));
         return pass(q.s.principal.anonymous() ? "anonymous access is on" : "client is authenticated");
     }},
    {"internet_facing",
     [](const MailQuestion& q) {
         // DESIGN.md §3.6: on a listener the Internet reaches, an anonymous client claiming
         // to be one of our own is a forger unless it is a host we relay for.
         if (!q.s.principal.anonymous()) return pass("client is authenticated");
         if (!q.s.listener->internet_facing.value_or(true)) return pass("listener is not internet-facing");
         if (q.sender.null) return pass("null sender");
         const config::Domain* d = q.s.domains ? config::accepted_domain(*q.s.domains, q.sender.mailbox.domain_key()) : nullptr;
         // Authoritative and internal-relay domains are the organisation's own; external-relay
         // domains belong to partners and stay out.
         if (!d || d->type == config::DomainType::ExternalRelay)
             return pass(d ? "sender in external-relay " + d->name + ": a partner's domain" : "sender is not in our domains");
         std::string type = d->type == config::DomainType::Authoritative ? "authoritative" : "internal-relay";
         if (in_relay_list(q.s))
             return pass("sender in " + type + " " + d->name + ", client " + q.s.client.text() + " passes the relay list");
         return refuse("internet_facing",
                       smtp::Reply(550, "5.7.1", "anonymous sender in an " + type + " domain is not accepted on this listener;"
                                                 " authenticate first"));
     }},
    {"principal.server",
     [](const MailQuestion& q) {
         if (q.s.principal.kind == Principal::Kind::Server)
             return accept("principal.server", q.s.principal.text() + " is an organisation server", smtp::Reply(250, "2.1.0", "sender ok"));
         return pass("client is not an organisation server");
     }},
    {"sender.own_address",
     [](const MailQuestion& q) {
         if (q.s.principal.kind != Principal::Kind::User) return pass("rule applies to users only");
         if (q.s.principal.send_as_any) return pass(q.s.principal.text() + " may send as any address");
         std::string sender = q.sender.null ? std::string() : q.sender.mailbox.local + "@" + q.sender.mailbox.domain_key();
         for (const std::string& a : q.s.principal.addresses) {
             std::size_t at = a.rfind('@');
             std::string own = at == std::string::npos ? a : a.substr(0, at + 1) + util::ascii_lower(std::string_view(a).substr(at + 1));
             if (own == sender) return pass(sender + " is an address of " + q.s.principal.text());
         }
         return refuse("sender.own_address", smtp::Reply(550, "5.7.1", "sender address is not one of the authenticated user's addresses"));
     }},
    {"permissions.submit",
     [](const MailQuestion& q) {
         if (q.s.principal.kind != Principal::Kind::User) return pass("rule applies to users only");
         if (grant_matches(q.s.listener->permissions.submit, q.s.principal))
             return accept("permissions.submit", q.s.principal.text() + " is granted submit", smtp::Reply(250, "2.1.0", "sender ok"));
         // A relay grant is useless without sending: it implies permission to submit.
         if (grant_matches(q.s.listener->permissions.relay, q.s.principal))
             return accept("permissions.submit", q.s.principal.text() + " is granted relay (which includes submit)", smtp::Reply(250, "2.1.0", "sender ok"));
         return refuse("permissions.submit", smtp::Reply(550, "5.7.1", "not permitted to send through this listener"));
     }},
};

struct ConnQuestion {
    const SessionFacts& s;
};

Decision remote_ranges_rule(const ConnQuestion& q) {
    const auto& ranges = q.s.listener->remote_ranges;
    if (ranges.empty() || std::any_of(ranges.begin(), ranges.end(), [&](const net::Cidr& c) { return c.contains(q.s.client); }))
        return pass("client " + q.s.client.text() + " is inside remote_ranges");
    return refuse("remote_ranges", smtp::Reply(554, "5.7.1", "connection refused: client address not allowed on this listener"));
}

// Listeners with subscribed_edges_only (the hub's from-edge): the address of a subscribed
// edge, or 554 before the greeting; the certificate follows after STARTTLS.
Decision pinned_edge_address_rule(const ConnQuestion& q) {
    if (q.s.edges)
        for (const config::PinnedEdge& e : *q.s.edges)
            if (std::find(e.addresses.begin(), e.addresses.end(), q.s.client.unmapped()) != e.addresses.end())
                return pass("client " + q.s.client.text() + " is the address of subscribed edge " + e.name +
                            "; its certificate is checked after STARTTLS");
    return refuse("from-edge.pinned", smtp::Reply(554, "5.7.1", "connection refused: not a subscribed edge server"));
}

const Rule<ConnQuestion> kConnRules[] = {
    {"remote_ranges", remote_ranges_rule},
};
const Rule<ConnQuestion> kEdgeConnRules[] = {
    {"remote_ranges", remote_ranges_rule},
    {"from-edge.pinned", pinned_edge_address_rule},
};

}  // namespace

bool grant_matches(std::span<const std::string> grants, const Principal& p) {
    if (p.kind != Principal::Kind::User) return false;
    for (const std::string& g : grants) {
        if (g == "authenticated") return true;
        if (g.rfind("user:", 0) == 0 && g.substr(5) == p.name) return true;
        if (g.rfind("group:", 0) == 0 &&
            std::find(p.groups.begin(), p.groups.end(), g.substr(6)) != p.groups.end())
            return true;
    }
    return false;
}

Decision check_connection(const SessionFacts& s, Trace* trace) {
    ConnQuestion q{s};
    Decision allowed = accept("connection", "connection allowed", smtp::Reply(220, "", "ready"));
    if (s.listener->subscribed_edges_only) return decide<ConnQuestion>(kEdgeConnRules, q, allowed, trace);
    return decide<ConnQuestion>(kConnRules, q, allowed, trace);
}

Decision check_edge_certificate(const SessionFacts& s, const std::optional<net::PeerCertificate>& cert, std::string* edge,
                                Trace* trace) {
    Decision d;
    if (!s.listener->subscribed_edges_only) {
        d = pass("the listener admits more than subscribed edges");
    } else {
        const config::PinnedEdge* match = nullptr;
        if (cert && s.edges)
            for (const config::PinnedEdge& e : *s.edges)
                if (e.fingerprint == cert->fingerprint &&
                    std::find(e.addresses.begin(), e.addresses.end(), s.client.unmapped()) != e.addresses.end())
                    match = &e;
        if (match) {
            d = accept("from-edge.pinned", "certificate " + cert->fingerprint + " is pinned for edge " + match->name,
                       smtp::Reply(220, "2.0.0", "ready"));
            if (edge) *edge = match->name;
        } else {
            d = refuse("from-edge.pinned", smtp::Reply(554, "5.7.1", cert ? "connection refused: certificate is not that of a subscribed edge"
                                                                          : "connection refused: a subscribed edge's client certificate is required"));
        }
    }
    d.rule = "from-edge.pinned";
    if (trace) trace->add(d.rule, d);
    return d;
}

Decision check_edge_tls_first(const SessionFacts& s, Trace* trace) {
    Decision d = s.listener->subscribed_edges_only && !s.tls
                     ? refuse("from-edge.pinned", smtp::Reply(530, "5.7.0", "must issue a STARTTLS command first"))
                     : pass("TLS is active or not required");
    if (trace) trace->add("from-edge.pinned", d);
    return d;
}

Decision check_connection_limits(const config::Listener& l, const std::string& hostname,
                                 std::optional<ConnectionCounts> counts, Trace* trace) {
    auto step = [&](std::string_view rule, std::uint32_t n, std::uint32_t max, std::string_view what,
                    std::string_view reason) -> std::optional<Decision> {
        Decision d;
        if (!counts) {
            d = pass("live-only: not evaluated offline (limit " + std::to_string(max) + " " + std::string(what) + ")");
        } else if (n >= max) {
            d = refuse(rule, smtp::Reply(421, "4.7.0", hostname + " " + std::string(reason) + "; try again later"));
        } else {
            d = pass(std::to_string(n) + " open " + std::string(what) + ", limit " + std::to_string(max));
        }
        d.rule = rule;
        if (trace) trace->add(rule, d);
        if (d.verdict == Verdict::Refuse) return d;
        return std::nullopt;
    };
    if (auto d = step("limits.max_connections", counts ? counts->listener : 0, l.limits.max_connections,
                      "on this listener", "too many connections to this listener"))
        return *d;
    if (auto d = step("limits.max_connections_per_source", counts ? counts->source : 0, l.limits.max_connections_per_source,
                      "from this address", "too many connections from your address"))
        return *d;
    return pass("within the connection limits");
}

Decision check_mail(const SessionFacts& s, const smtp::Path& sender, Trace* trace) {
    return check_mail(s, sender, MailFacts{}, trace);
}

Decision check_mail(const SessionFacts& s, const smtp::Path& sender, const MailFacts& m, Trace* trace) {
    MailQuestion q{s, sender, m};
    return decide<MailQuestion>(kMailRules, q, accept("sender", "no rule refused the sender", smtp::Reply(250, "2.1.0", "sender ok")), trace);
}

Decision check_rcpt(const SessionFacts& s, const smtp::Path& sender, const smtp::Path& rcpt, Trace* trace) {
    return check_rcpt(s, sender, rcpt, 0, trace);
}

Decision check_rcpt(const SessionFacts& s, const smtp::Path& sender, const smtp::Path& rcpt, std::size_t accepted,
                    Trace* trace) {
    RcptQuestion q{s, sender, rcpt, s.domains ? config::accepted_domain(*s.domains, rcpt.mailbox.domain_key()) : nullptr,
                   accepted};
    Decision d = decide<RcptQuestion>(kRcptRules, q, refuse("relay", smtp::Reply(550, "5.7.1", "relaying denied")), trace);
    if (d.verdict != Verdict::Accept || d.rule == "domains") return d;
    // A permitted relay still needs somewhere to go: refuse now rather than queue mail
    // that no send connector can ever carry.
    std::string domain = rcpt.mailbox.literal ? std::string() : rcpt.mailbox.domain_key();
    if (!s.connectors || !config::find_connector(*s.connectors, domain)) {
        Decision r = refuse("routing", smtp::Reply(550, "5.4.4", "no route to the recipient's domain"));
        if (trace) trace->add("routing", r);
        return r;
    }
    if (trace) trace->add("routing", pass("a send connector serves " + rcpt.mailbox.domain));
    return d;
}

Decision check_data(const SessionFacts& s, std::size_t received_headers, Trace* trace) {
    std::uint32_t max = s.listener->limits.max_received_headers;
    Decision d = received_headers >= max
                     ? refuse("limits.max_received_headers",
                              smtp::Reply(554, "5.4.6", "too many hops (" + std::to_string(received_headers) +
                                                            " Received headers): mail loop"))
                     : accept("limits.max_received_headers",
                              std::to_string(received_headers) + " Received header(s), limit " + std::to_string(max),
                              smtp::Reply(250, "2.0.0", "message accepted"));
    if (trace) trace->add(d.rule, d);
    return d;
}

Decision check_message_size(const config::Listener& l, std::uint64_t size_with_header) {
    std::string limit = std::to_string(l.limits.max_message_size);
    if (size_with_header <= l.limits.max_message_size)
        return pass(std::to_string(size_with_header) + " bytes with our Received header, limit " + limit);
    return refuse("limits.max_message_size",
                  smtp::Reply(552, "5.3.4", "message exceeds the size limit of " + limit + " bytes with the Received header added here"));
}

Decision check_hourly_limit(const SessionFacts& s, bool recipients, std::optional<Brakes::Limit> hit, Trace* trace) {
    if (hit && *hit != Brakes::Limit::None) recipients = *hit == Brakes::Limit::Recipients;
    std::string_view rule = recipients ? "limits.max_recipients_per_hour" : "limits.max_messages_per_hour";
    std::uint32_t max = recipients ? s.listener->limits.max_recipients_per_hour : s.listener->limits.max_messages_per_hour;
    Decision d;
    if (s.principal.kind != Principal::Kind::User) d = pass("applies to authenticated users only");
    else if (max == 0) d = pass("off");
    else if (!hit) d = pass("live-only: " + s.principal.text() + "'s count this hour is not known offline (limit " + std::to_string(max) + ")");
    else if (*hit != Brakes::Limit::None) d = refuse(rule, Brakes::rate_reply(*hit));
    else d = pass("within " + std::to_string(max) + " per hour (the running server's count)");
    d.rule = rule;
    if (trace) trace->add(rule, d);
    return d;
}

Decision auth_lockout_step(const SessionFacts& s, std::optional<std::chrono::milliseconds> left, Trace* trace) {
    const config::ListenerLimits& l = s.listener->limits;
    std::string rule_text = "locked after " + std::to_string(l.auth_lockout_failures) + " failures within " +
                            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(l.auth_lockout_window).count()) + " s";
    std::string who = "ip:" + s.client.text() + " and " + s.principal.text();
    Decision d;
    if (s.principal.kind != Principal::Kind::User) d = pass("applies to password logins only");
    else if (l.auth_lockout_failures == 0) d = pass("off");
    else if (!left) d = pass("live-only: lockout of " + who + " not known offline (" + rule_text + ")");
    else if (left->count() > 0) {
        d = refuse("limits.auth_lockout_failures", Brakes::lockout_reply());
        d.note = "locked out for " + std::to_string((left->count() + 999) / 1000) + " s more (the running server's state)";
    } else d = pass(who + " not locked out (the running server's state; " + rule_text + ")");
    d.rule = "limits.auth_lockout_failures";
    if (trace) trace->add(d.rule, d);
    return d;
}

bool unknown_recipient(const Decision& d) {
    return d.verdict == Verdict::Refuse && d.rule == "recipient.known" && d.reply.enhanced == "5.1.1";
}

}  // namespace rampart::policy
