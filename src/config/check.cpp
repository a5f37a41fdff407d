// config/check.cpp — the departure table of `rampart check` and the open-relay rule.
// Each row names a setting as the configuration spells it, shows its value, and says what
// a value other than the role preset's exposes. Adding a setting that loosens access
// means adding a row here (tests/unit/config/check_test.cpp checks the rows).
#include "config/check.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "config/roles.hpp"

namespace rampart::config {
namespace {

using net::AddressSet;

std::string join_cidrs(const std::vector<net::Cidr>& v) {
    if (v.empty()) return "[\"0.0.0.0/0\", \"::/0\"]";   // remote_ranges: empty means any
    std::string out = "[";
    for (const net::Cidr& c : v) out += (out.size() > 1 ? ", " : "") + ("\"" + c.text() + "\"");
    return out + "]";
}

std::string join_strings(const std::vector<std::string>& v) {
    std::string out = "[";
    for (const std::string& s : v) out += (out.size() > 1 ? ", " : "") + ("\"" + s + "\"");
    return out + "]";
}

std::string yes_no(bool b) { return b ? "true" : "false"; }

std::string duration(milliseconds d) {
    if (d.count() % 60000 == 0 && d.count() > 0) return "\"" + std::to_string(d.count() / 60000) + "m\"";
    if (d.count() % 1000 == 0) return "\"" + std::to_string(d.count() / 1000) + "s\"";
    return "\"" + std::to_string(d.count()) + "ms\"";
}

// a covers b
bool covers(const net::Cidr& a, const net::Cidr& b) {
    return a.base.v6 == b.base.v6 && a.prefix <= b.prefix && a.contains(b.base);
}

const std::vector<net::Cidr>& private_blocks() {
    static const std::vector<net::Cidr> kBlocks = [] {
        std::vector<net::Cidr> v;
        for (const char* s : {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16",
                              "100.64.0.0/10", "::1/128", "fc00::/7", "fe80::/10"})
            v.push_back(*net::Cidr::parse(s));
        return v;
    }();
    return kBlocks;
}

bool is_private(const net::Cidr& c) {
    const auto& p = private_blocks();
    return std::any_of(p.begin(), p.end(), [&](const net::Cidr& b) { return covers(b, c); });
}

// The addresses of `s` outside the private blocks.
AddressSet public_part(AddressSet s) {
    for (const net::Cidr& b : private_blocks()) s.remove(b);
    return s;
}
// Narrow enough to name hosts or one site: an explicit grant rather than a policy.
bool narrow(const net::Cidr& c) { return c.base.v6 ? c.prefix >= 48 : c.prefix >= 24; }

struct Verdict {
    Severity severity = Severity::Info;
    std::string text;
};

Verdict info(std::string t) { return {Severity::Info, std::move(t)}; }
Verdict exposure(std::string t) { return {Severity::Exposure, std::move(t)}; }
const char* kStricter = "stricter than the preset";

struct Row {
    std::string_view setting;
    std::string (*value)(const Listener&);
    Verdict (*judge)(const Listener& l, const Listener& preset);
};

bool has(const std::vector<std::string>& v, std::string_view s) { return std::find(v.begin(), v.end(), s) != v.end(); }

const Row kRows[] = {
    {"tls", [](const Listener& l) -> std::string { return l.tls == TlsMode::None ? "\"none\"" : l.tls == TlsMode::StartTls ? "\"starttls\"" : "\"implicit\""; },
     [](const Listener& l, const Listener&) {
         if (l.tls == TlsMode::None)
             return exposure("no TLS: mail, and any password a client sends, cross the network in clear");
         return info("TLS from the first byte instead of STARTTLS");
     }},
    {"remote_ranges", [](const Listener& l) { return join_cidrs(l.remote_ranges); },
     [](const Listener& l, const Listener& p) {
         if (admits_public_addresses(l.remote_ranges) && !admits_public_addresses(p.remote_ranges))
             return exposure("the listener accepts connections from public addresses, not only from the servers meant to use it"
                             " (the hub's port-25 listener should admit only the edges)");
         return info("fewer client addresses may connect");
     }},
    {"internet_facing", [](const Listener& l) { return yes_no(l.internet_facing.value_or(true)); },
     [](const Listener& l, const Listener&) {
         if (!l.internet_facing.value_or(true))
             return exposure("remote_ranges admit public addresses, yet anonymous clients may claim senders in the"
                             " authoritative domains: forged inside mail (phishing as your own staff) is accepted");
         return info("anonymous clients may not claim authoritative senders, although remote_ranges admit only private addresses");
     }},
    {"auth.anonymous", [](const Listener& l) { return yes_no(l.auth.anonymous); },
     [](const Listener& l, const Listener&) {
         if (l.auth.anonymous)
             return exposure("anyone who can connect may send to the accepted domains without authenticating");
         return info(kStricter);
     }},
    {"auth.basic", [](const Listener& l) { return yes_no(l.auth.basic); },
     [](const Listener& l, const Listener&) {
         if (l.auth.basic)
             return exposure("passwords are accepted here: a guessed or stolen password sends mail as its user"
                             " (keep the limits.auth_* brakes on)");
         return info(kStricter);
     }},
    {"auth.basic_requires_tls", [](const Listener& l) { return yes_no(l.auth.basic_requires_tls); },
     [](const Listener& l, const Listener&) {
         if (!l.auth.basic_requires_tls)
             return l.auth.basic ? exposure("passwords cross the network in clear (PLAIN and LOGIN are only base64)")
                                 : info("no effect while auth.basic is off; passwords would cross the network in clear");
         return info(kStricter);
     }},
    {"auth.integrated", [](const Listener& l) { return yes_no(l.auth.integrated); },
     [](const Listener& l, const Listener&) {
         if (l.auth.integrated)
             return exposure("Kerberos users can authenticate here; with a submit or relay grant a stolen ticket sends mail");
         return info(kStricter);
     }},
    {"auth.server", [](const Listener& l) { return yes_no(l.auth.server); },
     [](const Listener& l, const Listener&) {
         if (l.auth.server)
             return exposure("organisation servers may submit and relay anything here: a server's stolen key relays spam");
         return info(kStricter);
     }},
    {"relay.mode", [](const Listener& l) -> std::string { return l.relay.mode == RelayMode::OnlyList ? "\"only-list\"" : "\"all-except-list\""; },
     [](const Listener& l, const Listener&) {
         if (l.relay.mode == RelayMode::AllExceptList)
             return exposure("every client address that is not listed may relay without authenticating");
         return info(kStricter);
     }},
    {"relay.list", [](const Listener& l) { return l.relay.list.empty() ? std::string("[]") : join_cidrs(l.relay.list); },
     [](const Listener& l, const Listener&) {
         if (l.relay.mode == RelayMode::AllExceptList) return info("addresses excluded from relaying");
         bool all_narrow = std::all_of(l.relay.list.begin(), l.relay.list.end(), narrow);
         std::string who = std::to_string(l.relay.list.size()) + " listed prefix(es) relay without authenticating";
         if (!all_narrow)
             return exposure(who + ", and some are wide: any host there (a compromised PC, a guest device) can relay spam");
         if (l.internet_facing.value_or(true))
             return info(who + " (explicit grant); anyone who controls a listed host, or shares its NAT address, can relay");
         return info(who + " (explicit grant)");
     }},
    {"relay.allow_authenticated", [](const Listener& l) { return yes_no(l.relay.allow_authenticated); },
     [](const Listener& l, const Listener&) {
         if (l.relay.allow_authenticated)
             return exposure("any authenticated user may relay: a stolen login or malware on a client can send spam"
                             " with its user's login");
         return info(kStricter);
     }},
    {"relay.force_open_relay", [](const Listener& l) { return yes_no(l.relay.force_open_relay); },
     [](const Listener& l, const Listener&) {
         std::string why = open_relay(l);
         if (l.relay.force_open_relay && !why.empty())
             return Verdict{Severity::Danger, "OPEN RELAY (" + why + "): anyone can send spam through this server;"
                                              " it will be blocklisted within hours"};
         if (l.relay.force_open_relay) return exposure("an open relay would be accepted here without complaint");
         return info(kStricter);
     }},
    {"permissions.submit", [](const Listener& l) { return join_strings(l.permissions.submit); },
     [](const Listener& l, const Listener&) {
         if (has(l.permissions.submit, "authenticated"))
             return exposure("every authenticated user may submit: the servers-only default is lost, and any stolen login sends"
                             " to the accepted domains");
         return info("the named users and groups may submit (explicit grant); a stolen login of one of them can send to the"
                     " accepted domains");
     }},
    {"permissions.relay", [](const Listener& l) { return join_strings(l.permissions.relay); },
     [](const Listener& l, const Listener&) {
         if (has(l.permissions.relay, "authenticated"))
             return exposure("every authenticated user may relay: a stolen login or malware on a client can send spam with"
                             " its user's login");
         return info("the named users and groups may relay (explicit grant); a stolen login of one of them can send spam,"
                     " bounded by the limits.max_*_per_hour brakes");
     }},
    {"limits.auth_failure_delay", [](const Listener& l) { return duration(l.limits.auth_failure_delay); },
     [](const Listener& l, const Listener& p) {
         if (l.limits.auth_failure_delay < p.limits.auth_failure_delay)
             return exposure("failed logins are answered sooner: password guessing runs faster");
         return info(kStricter);
     }},
    {"limits.auth_lockout_failures", [](const Listener& l) { return std::to_string(l.limits.auth_lockout_failures); },
     [](const Listener& l, const Listener& p) {
         if (l.limits.auth_lockout_failures == 0)
             return exposure("no lockout: passwords can be guessed without end");
         if (l.limits.auth_lockout_failures > p.limits.auth_lockout_failures)
             return exposure("more password guesses before a lockout");
         return info(kStricter);
     }},
    {"limits.auth_lockout_window", [](const Listener& l) { return duration(l.limits.auth_lockout_window); },
     [](const Listener& l, const Listener& p) {
         if (l.limits.auth_lockout_window < p.limits.auth_lockout_window)
             return exposure("failures are forgotten sooner and lockouts end sooner: more guesses per hour");
         return info(kStricter);
     }},
    {"limits.max_messages_per_hour", [](const Listener& l) { return std::to_string(l.limits.max_messages_per_hour); },
     [](const Listener& l, const Listener& p) {
         if (l.limits.max_messages_per_hour == 0)
             return exposure("no hourly message limit: a stolen login can send without bound");
         if (l.limits.max_messages_per_hour > p.limits.max_messages_per_hour)
             return exposure("a stolen login can send more messages per hour before it is braked");
         return info(kStricter);
     }},
    {"limits.max_recipients_per_hour", [](const Listener& l) { return std::to_string(l.limits.max_recipients_per_hour); },
     [](const Listener& l, const Listener& p) {
         if (l.limits.max_recipients_per_hour == 0)
             return exposure("no hourly recipient limit: a stolen login can send without bound");
         if (l.limits.max_recipients_per_hour > p.limits.max_recipients_per_hour)
             return exposure("a stolen login can reach more recipients per hour before it is braked");
         return info(kStricter);
     }},
    {"filters", [](const Listener& l) { return yes_no(l.filters); },
     [](const Listener& l, const Listener&) {
         if (!l.filters)
             return exposure("the filter chain does not run: mail from this listener's clients passes unfiltered"
                             " (no connection filter, and later no antivirus or attachment filtering)");
         return info("the filter chain runs for this listener's sessions");
     }},
    {"forbid_unauth_pipelining", [](const Listener& l) { return yes_no(l.forbid_unauth_pipelining); },
     [](const Listener& l, const Listener&) {
         if (!l.forbid_unauth_pipelining)
             return exposure("an unauthenticated client may send message content before the 354 reply: the pattern of"
                             " SMTP smuggling attacks is accepted");
         return info(kStricter);
     }},
};

}  // namespace

bool admits_public_addresses(const std::vector<net::Cidr>& ranges) {
    if (ranges.empty()) return true;
    return std::any_of(ranges.begin(), ranges.end(), [](const net::Cidr& r) { return !is_private(r); });
}

std::string open_relay(const Listener& l) {
    const RelaySettings& r = l.relay;
    if (r.mode == RelayMode::OnlyList) {
        // Judged on the union of the entries, per family: 512 entries of /9 are the whole
        // IPv4 Internet although none of them is wide. Private ranges do not count.
        for (bool v6 : {false, true}) {
            AddressSet all(v6);
            for (const net::Cidr& c : r.list) all.add(c);
            if (all.empty()) continue;
            std::string family = v6 ? "IPv6" : "IPv4";
            auto single = [&](auto&& pred) -> const net::Cidr* {   // one entry alone, for the message
                for (const net::Cidr& c : r.list)
                    if (c.base.v6 == v6 && pred(c)) return &c;
                return nullptr;
            };
            if (all.full()) {
                if (const net::Cidr* c = single([](const net::Cidr& x) { return x.prefix == 0; }))
                    return "relay.list entry \"" + c->text() + "\" admits every address";
                return "relay.list entries together admit every " + family + " address";
            }
            unsigned large = v6 ? 16 : 8;   // more public addresses than a /8 (IPv6: a /16)
            if (public_part(all).larger_than(large)) {
                const net::Cidr* c = single([&](const net::Cidr& x) {
                    AddressSet one(v6);
                    one.add(x);
                    return public_part(one).larger_than(large);
                });
                if (c) return "relay.list entry \"" + c->text() + "\" admits a large part of the Internet";
                return "relay.list entries together admit a large part of the Internet (more public " + family +
                       " addresses than a /" + std::to_string(large) + " holds)";
            }
        }
        return {};
    }
    // all-except-list: whoever may connect and is not listed relays. The listed entries
    // and private ranges are taken away from each range together.
    std::vector<net::Cidr> ranges = l.remote_ranges;
    if (ranges.empty()) ranges = {*net::Cidr::parse("0.0.0.0/0"), *net::Cidr::parse("::/0")};
    for (const net::Cidr& range : ranges) {
        AddressSet left(range.base.v6);
        left.add(range);
        for (const net::Cidr& c : r.list) left.remove(c);
        left = public_part(std::move(left));
        if (!left.empty())
            return "relay.mode = \"all-except-list\" lets every unlisted address in remote_ranges relay, and remote_ranges admit " +
                   range.text();
    }
    return {};
}

std::string_view severity_name(Severity s) {
    switch (s) {
        case Severity::Info: return "info";
        case Severity::Exposure: return "EXPOSURE";
        case Severity::Danger: return "DANGER";
    }
    return "?";
}

namespace {
// A listener and its role preset as the departure table compares them.
std::pair<Listener, Listener> with_preset(const Config& c, const Listener& l) {
    Listener p = preset_listener(c.server.role, l.preset);
    // internet_facing is derived from remote_ranges unless set: only a setting that
    // contradicts the derived value departs from the preset.
    p.internet_facing = admits_public_addresses(l.remote_ranges);
    Listener actual = l;
    if (!actual.internet_facing) actual.internet_facing = p.internet_facing;
    return {std::move(actual), std::move(p)};
}
}  // namespace

std::vector<SettingValue> listener_values(const Config& c, const Listener& l) {
    auto [actual, p] = with_preset(c, l);
    std::vector<SettingValue> out;
    for (const Row& row : kRows) out.push_back({std::string(row.setting), row.value(actual), row.value(p)});
    return out;
}

std::string render_finding(const Finding& f) {
    std::string sev(severity_name(f.severity));
    sev.resize(8, ' ');
    return "  " + sev + "  " + f.setting + " = " + f.value + " (preset " + f.preset + ")\n" + "      " + f.text + "\n";
}

std::vector<Finding> analyse(const Config& c) {
    std::vector<Finding> out;
    for (const Listener& l : c.listeners) {
        auto [actual, p] = with_preset(c, l);
        for (const Row& row : kRows) {
            std::string v = row.value(actual), pv = row.value(p);
            if (v == pv) continue;
            Verdict verdict = row.judge(actual, p);
            out.push_back({l.name, "", std::string(row.setting), v, pv, verdict.severity, verdict.text, ""});
        }
    }
    for (const SendConnector& sc : c.send_connectors) {
        // Smart hosts are named by the administrator; only route = "mx" lets DNS and
        // senders choose the address.
        if (sc.route == Route::Mx && sc.allow_private_destinations)
            out.push_back({"", sc.name, "allow_private_destinations", "true", "false", Severity::Exposure,
                           "DNS answers and address-literal recipients (user@[127.0.0.1]) may make this server connect to"
                           " loopback and inside addresses: any sender can reach internal services through it", ""});
    }
    if (c.antivirus.configured && c.antivirus.on_error == OnEngineError::Accept)
        out.push_back({"", "", "on_error", "\"accept\"", "\"tempfail\"", Severity::Exposure,
                       "an antivirus engine that is down, slow or answering garbage lets mail through unscanned:"
                       " stopping the engine (or flooding it) lets viruses in",
                       "antivirus"});
    if (c.content_filter.configured && c.content_filter.engine == ContentEngine::Rspamd &&
        c.content_filter.on_error == OnEngineError::Accept)
        out.push_back({"", "", "on_error", "\"accept\"", "\"tempfail\"", Severity::Exposure,
                       "rspamd down, slow or answering garbage lets mail through without a spam check:"
                       " stopping rspamd (or flooding it) lets spam in",
                       "content_filter"});
    for (const MilterSettings& m : c.milters)
        if (m.on_error == OnEngineError::Accept)
            out.push_back({"", "", "on_error", "\"accept\"", "\"tempfail\"", Severity::Exposure,
                           "milter \"" + m.name + "\" down, slow or answering garbage lets mail through without it:"
                           " stopping the milter (or flooding it) skips its checks",
                           "milters"});
    return out;
}

std::string render_findings(const Config& c, const std::vector<Finding>& findings) {
    std::string out;
    std::size_t exposures = 0, dangers = 0, infos = 0;
    for (const Listener& l : c.listeners) {
        out += "\nlistener \"" + l.name + "\" (" + std::string(role_name(c.server.role)) + " preset \"" +
               std::string(kind_name(l.preset)) + "\"";
        for (const Endpoint& e : l.bind) out += ", " + e.text();
        out += std::string(l.internet_facing.value_or(true) ? ", internet-facing" : ", internal") + ")\n";
        bool any = false;
        for (const Finding& f : findings) {
            if (f.listener != l.name) continue;
            any = true;
            out += render_finding(f);
            (f.severity == Severity::Danger ? dangers : f.severity == Severity::Exposure ? exposures : infos)++;
        }
        if (!any) out += "  follows the preset\n";
    }
    for (const SendConnector& sc : c.send_connectors) {
        bool header = false;
        for (const Finding& f : findings) {
            if (f.connector != sc.name || f.connector.empty()) continue;
            if (!header) out += "\nsend connector \"" + sc.name + "\" (route " + (sc.route == Route::Mx ? "mx" : "smarthost") + ")\n";
            header = true;
            std::string sev(severity_name(f.severity));
            sev.resize(8, ' ');
            out += "  " + sev + "  " + f.setting + " = " + f.value + " (default " + f.preset + ")\n";
            out += "      " + f.text + "\n";
            (f.severity == Severity::Danger ? dangers : f.severity == Severity::Exposure ? exposures : infos)++;
        }
    }
    // Findings about a filter section rather than a listener or connector, one block each.
    for (const auto& [section, title] : {std::pair{"antivirus", "[antivirus]"}, std::pair{"content_filter", "[content_filter]"},
                                         std::pair{"milters", "[[milters]]"}}) {
        bool header = false;
        for (const Finding& f : findings) {
            if (f.section != section) continue;
            if (!header) out += std::string("\n") + title + "\n";
            header = true;
            std::string sev(severity_name(f.severity));
            sev.resize(8, ' ');
            out += "  " + sev + "  " + f.setting + " = " + f.value + " (default " + f.preset + ")\n";
            out += "      " + f.text + "\n";
            (f.severity == Severity::Danger ? dangers : f.severity == Severity::Exposure ? exposures : infos)++;
        }
    }
    out += "\n";
    if (dangers) out += "DANGER: " + std::to_string(dangers) + " forced open relay setting(s): this server relays for anyone\n";
    out += std::to_string(exposures + dangers) + " exposure(s), " + std::to_string(infos) + " informational departure(s)\n";
    return out;
}

}  // namespace rampart::config
