// senderauth/spf.cpp — check_host() (see spf.hpp): the record walk, the mechanisms of
// RFC 7208 §5, redirect and exp (§6), and the limits of §4.6.4.
#include "senderauth/spf.hpp"

#include <algorithm>
#include <ctime>
#include <optional>
#include <variant>
#include <vector>

#include "senderauth/spf_record.hpp"
#include "util/text.hpp"

namespace rampart::senderauth {
namespace {

using Clock = std::chrono::steady_clock;
using dns::RecordStatus;
using dns::RecordType;

struct Eval {
    SpfResult result = SpfResult::Neutral;
    std::string reason;
    std::string explanation;
};

struct State {
    SpfLookup& dns;
    const SpfLimits& limits;
    MacroContext ctx;          // ctx.domain is set per check_host level
    Clock::time_point deadline;
    int terms = 0;
    int voids = 0;
    std::optional<std::vector<std::string>> validated;   // PTR names that resolve back to the client
};

// Not a reason to continue: the evaluation ends with this result.
struct Stop {
    SpfResult result;
    std::string reason;
};

// §4.3: a domain check_host can ask about: labels of 1..63 characters, 253 in all, and
// more than one label.
bool valid_domain(std::string_view d) {
    if (d.empty() || d.size() > 253 || d.find('.') == std::string_view::npos) return false;
    std::size_t start = 0;
    while (start <= d.size()) {
        std::size_t dot = d.find('.', start);
        std::size_t end = dot == std::string_view::npos ? d.size() : dot;
        if (end - start == 0 || end - start > 63) return false;
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return true;
}

std::string canonical(std::string d) {
    d = util::ascii_lower(d);
    while (!d.empty() && d.back() == '.') d.pop_back();
    return d;
}

RecordType address_type(const net::IpAddress& ip) { return ip.unmapped().v6 ? RecordType::Aaaa : RecordType::A; }

asio::awaitable<std::optional<Stop>> ask(State& s, const std::string& name, RecordType type, dns::Records& out) {
    if (Clock::now() >= s.deadline)
        co_return Stop{SpfResult::TempError, "SPF evaluation exceeded its time budget of " +
                                                 std::to_string(s.limits.budget.count()) + " ms"};
    out = co_await s.dns.lookup(name, type);
    co_return std::nullopt;
}

// A void look-up (§4.6.4): counted; the third is a permerror.
std::optional<Stop> count_void(State& s, const std::string& name) {
    if (++s.voids > s.limits.void_lookups)
        return Stop{SpfResult::PermError, "more than " + std::to_string(s.limits.void_lookups) +
                                              " void DNS look-ups (RFC 7208 §4.6.4), the last for " + name};
    return std::nullopt;
}

bool address_in(const std::string& text, const net::IpAddress& ip, unsigned cidr4, unsigned cidr6) {
    auto a = net::IpAddress::parse(text);
    if (!a) return false;
    auto c = net::Cidr::parse(text + "/" + std::to_string(a->v6 ? cidr6 : cidr4));
    return c && c->contains(ip);
}

// The PTR names of the client that resolve back to it (§5.5), at most limits.ptr_names
// of them asked. DNS errors here are no match, never an error.
asio::awaitable<std::vector<std::string>> validated_names(State& s) {
    if (s.validated) co_return *s.validated;
    std::vector<std::string> out;
    dns::Records ptr;
    std::string reverse = reverse_name(s.ctx.ip);   // a named local: GCC 12 mishandles temporaries in co_await
    if (auto stop = co_await ask(s, reverse, RecordType::Ptr, ptr); !stop && ptr.status == RecordStatus::Found) {
        int n = 0;
        for (const std::string& name : ptr.values) {
            if (n++ >= s.limits.ptr_names) break;   // the rest are ignored (§4.6.4)
            dns::Records addrs;
            if (co_await ask(s, name, address_type(s.ctx.ip), addrs)) break;
            if (addrs.status != RecordStatus::Found) continue;
            bool back = std::any_of(addrs.values.begin(), addrs.values.end(),
                                    [&](const std::string& a) { return address_in(a, s.ctx.ip, 32, 128); });
            if (back) out.push_back(canonical(name));
        }
    }
    s.validated = out;
    co_return out;
}

// Expands a domain-spec (or returns the current domain for an empty one).
asio::awaitable<std::variant<std::string, Stop>> target_of(State& s, const std::string& spec) {
    if (spec.empty()) co_return s.ctx.domain;
    MacroContext ctx = s.ctx;
    if (uses_ptr_macro(spec)) {
        std::vector<std::string> names = co_await validated_names(s);
        ctx.validated_ptr = "unknown";
        for (const std::string& n : names)
            if (n == ctx.domain || n.ends_with("." + ctx.domain)) {
                ctx.validated_ptr = n;
                break;
            }
        if (ctx.validated_ptr == "unknown" && !names.empty()) ctx.validated_ptr = names.front();
    }
    auto r = expand_macros(spec, ctx, false, true);
    if (!r) co_return Stop{SpfResult::PermError, "domain-spec \"" + spec + "\": " + r.error().message};
    co_return canonical(*r);
}

asio::awaitable<Eval> check_host(State& s, std::string domain);

// The mechanism's match: true, false, or the end of the evaluation.
asio::awaitable<std::variant<bool, Stop>> matches(State& s, const Mechanism& m) {
    const net::IpAddress& ip = s.ctx.ip;
    switch (m.kind) {
        case MechanismKind::All: co_return true;
        case MechanismKind::Ip4:
        case MechanismKind::Ip6: co_return m.network.contains(ip);
        default: break;
    }
    // The DNS-querying terms (§4.6.4 item 1).
    if (++s.terms > s.limits.dns_terms)
        co_return Stop{SpfResult::PermError, "more than " + std::to_string(s.limits.dns_terms) +
                                                 " DNS-querying terms (RFC 7208 §4.6.4), at \"" + m.text + "\""};
    auto t = co_await target_of(s, m.domain_spec);
    if (auto* stop = std::get_if<Stop>(&t)) co_return *stop;
    std::string target = std::get<std::string>(t);
    dns::Records r;
    switch (m.kind) {
        case MechanismKind::Include: {
            std::string saved = s.ctx.domain;
            Eval e = co_await check_host(s, target);
            s.ctx.domain = saved;
            switch (e.result) {
                case SpfResult::Pass: co_return true;
                case SpfResult::Fail:
                case SpfResult::SoftFail:
                case SpfResult::Neutral: co_return false;
                case SpfResult::TempError: co_return Stop{e.result, e.reason};
                case SpfResult::PermError: co_return Stop{e.result, e.reason};
                case SpfResult::None:
                    co_return Stop{SpfResult::PermError, "include:" + target + " has no SPF record (" + e.reason + ")"};
            }
            co_return false;
        }
        case MechanismKind::A:
        case MechanismKind::Exists: {
            if (!valid_domain(target)) {
                if (auto stop = count_void(s, target)) co_return *stop;
                co_return false;
            }
            RecordType type = m.kind == MechanismKind::Exists ? RecordType::A : address_type(ip);
            if (auto stop = co_await ask(s, target, type, r)) co_return *stop;
            if (r.status == RecordStatus::Temporary) co_return Stop{SpfResult::TempError, r.error};
            if (r.status != RecordStatus::Found) {
                if (auto stop = count_void(s, target)) co_return *stop;
                co_return false;
            }
            if (m.kind == MechanismKind::Exists) co_return true;
            co_return std::any_of(r.values.begin(), r.values.end(),
                                  [&](const std::string& a) { return address_in(a, ip, m.cidr4, m.cidr6); });
        }
        case MechanismKind::Mx: {
            if (!valid_domain(target)) {
                if (auto stop = count_void(s, target)) co_return *stop;
                co_return false;
            }
            if (auto stop = co_await ask(s, target, RecordType::Mx, r)) co_return *stop;
            if (r.status == RecordStatus::Temporary) co_return Stop{SpfResult::TempError, r.error};
            if (r.status != RecordStatus::Found) {
                if (auto stop = count_void(s, target)) co_return *stop;
                co_return false;
            }
            if (static_cast<int>(r.values.size()) > s.limits.mx_names)
                co_return Stop{SpfResult::PermError, "mx:" + target + " has " + std::to_string(r.values.size()) +
                                                         " MX names, more than " + std::to_string(s.limits.mx_names) +
                                                         " (RFC 7208 §4.6.4)"};
            for (const std::string& host : r.values) {
                dns::Records addrs;
                if (auto stop = co_await ask(s, host, address_type(ip), addrs)) co_return *stop;
                if (addrs.status == RecordStatus::Temporary) co_return Stop{SpfResult::TempError, addrs.error};
                if (addrs.status != RecordStatus::Found) continue;
                for (const std::string& a : addrs.values)
                    if (address_in(a, ip, m.cidr4, m.cidr6)) co_return true;
            }
            co_return false;
        }
        case MechanismKind::Ptr: {
            std::vector<std::string> names = co_await validated_names(s);
            if (names.empty()) {
                if (auto stop = count_void(s, reverse_name(ip))) co_return *stop;
                co_return false;
            }
            for (const std::string& n : names)
                if (n == target || n.ends_with("." + target)) co_return true;
            co_return false;
        }
        default: break;
    }
    co_return false;
}

// §6.2: the explanation for a fail, when the record has exp=. Any problem: none.
asio::awaitable<std::string> explanation_of(State& s, const std::string& exp_spec) {
    auto t = co_await target_of(s, exp_spec);
    if (!std::holds_alternative<std::string>(t)) co_return std::string();
    std::string target = std::get<std::string>(t);
    if (!valid_domain(target)) co_return std::string();
    dns::Records r;
    if (co_await ask(s, target, RecordType::Txt, r)) co_return std::string();
    if (r.status != RecordStatus::Found || r.values.size() != 1) co_return std::string();
    MacroContext ctx = s.ctx;
    ctx.timestamp = static_cast<long long>(std::time(nullptr));
    auto text = expand_macros(r.values.front(), ctx, true, false);
    if (!text) co_return std::string();
    // Printable ASCII only, bounded: it goes into logs and a header comment.
    std::string out;
    for (char c : *text)
        if (c >= 0x20 && c < 0x7f && out.size() < 256) out += c;
    co_return out;
}

asio::awaitable<Eval> check_host(State& s, std::string domain) {
    domain = canonical(std::move(domain));
    if (!valid_domain(domain)) co_return Eval{SpfResult::None, "\"" + util::display_escape(domain) + "\" is not a domain name", {}};
    s.ctx.domain = domain;
    dns::Records txt;
    if (auto stop = co_await ask(s, domain, RecordType::Txt, txt)) co_return Eval{stop->result, stop->reason, {}};
    if (txt.status == RecordStatus::Temporary) co_return Eval{SpfResult::TempError, txt.error, {}};
    std::vector<std::string> records;
    if (txt.status == RecordStatus::Found)
        for (const std::string& v : txt.values)
            if (is_spf_record(v)) records.push_back(v);
    if (records.empty()) co_return Eval{SpfResult::None, domain + " publishes no SPF record", {}};
    if (records.size() > 1)
        co_return Eval{SpfResult::PermError, domain + " publishes " + std::to_string(records.size()) + " SPF records (RFC 7208 §4.5)", {}};
    auto rec = parse_spf_record(records.front());
    if (!rec) co_return Eval{SpfResult::PermError, "SPF record of " + domain + ": " + rec.error().message, {}};
    for (const Mechanism& m : rec->mechanisms) {
        auto r = co_await matches(s, m);
        s.ctx.domain = domain;   // an include changed it
        if (auto* stop = std::get_if<Stop>(&r)) co_return Eval{stop->result, stop->reason, {}};
        if (!std::get<bool>(r)) continue;
        Eval e;
        switch (m.qualifier) {
            case Qualifier::Pass: e.result = SpfResult::Pass; break;
            case Qualifier::Fail: e.result = SpfResult::Fail; break;
            case Qualifier::SoftFail: e.result = SpfResult::SoftFail; break;
            case Qualifier::Neutral: e.result = SpfResult::Neutral; break;
        }
        e.reason = domain + " matched \"" + util::display_escape(m.text) + "\"";
        if (e.result == SpfResult::Fail && rec->exp) e.explanation = co_await explanation_of(s, *rec->exp);
        co_return e;
    }
    if (rec->redirect) {
        if (++s.terms > s.limits.dns_terms)
            co_return Eval{SpfResult::PermError, "more than " + std::to_string(s.limits.dns_terms) +
                                                     " DNS-querying terms (RFC 7208 §4.6.4), at redirect=" + *rec->redirect, {}};
        auto t = co_await target_of(s, *rec->redirect);
        if (auto* stop = std::get_if<Stop>(&t)) co_return Eval{stop->result, stop->reason, {}};
        std::string target = std::get<std::string>(t);
        Eval e = co_await check_host(s, target);
        if (e.result == SpfResult::None)
            co_return Eval{SpfResult::PermError, "redirect=" + target + " has no SPF record (" + e.reason + ")", {}};
        co_return e;
    }
    co_return Eval{SpfResult::Neutral, domain + ": no mechanism matched (default neutral)", {}};
}

}  // namespace

std::string_view spf_result_name(SpfResult r) {
    switch (r) {
        case SpfResult::None: return "none";
        case SpfResult::Neutral: return "neutral";
        case SpfResult::Pass: return "pass";
        case SpfResult::Fail: return "fail";
        case SpfResult::SoftFail: return "softfail";
        case SpfResult::TempError: return "temperror";
        case SpfResult::PermError: return "permerror";
    }
    return "?";
}

asio::awaitable<SpfOutcome> check_spf(SpfLookup& dns, SpfRequest request, SpfLimits limits) {
    SpfOutcome out;
    MacroContext ctx;
    ctx.ip = request.client.unmapped();
    ctx.helo = request.helo;
    ctx.receiver = request.receiver;
    std::string domain;
    if (!request.sender.empty()) {
        std::size_t at = request.sender.rfind('@');
        ctx.local_part = at == std::string::npos ? std::string() : request.sender.substr(0, at);
        domain = at == std::string::npos ? request.sender : request.sender.substr(at + 1);
        out.identity = "mailfrom";
    } else {
        domain = request.helo;
        out.identity = "helo";
    }
    if (ctx.local_part.empty()) ctx.local_part = "postmaster";   // §4.3
    domain = canonical(domain);
    ctx.sender_domain = domain;
    ctx.sender = ctx.local_part + "@" + domain;
    out.sender = ctx.sender;
    out.domain = domain;
    if (domain.empty() || domain.front() == '[') {
        out.result = SpfResult::None;
        out.reason = out.identity == "helo" ? "null sender and the HELO name is no domain name"
                                            : "the sender's domain is an address literal";
        co_return out;
    }
    State s{dns, limits, ctx, Clock::now() + limits.budget, 0, 0, std::nullopt};
    Eval e = co_await check_host(s, domain);
    out.result = e.result;
    out.reason = std::move(e.reason);
    out.explanation = std::move(e.explanation);
    out.dns_terms = s.terms;
    out.void_lookups = s.voids;
    co_return out;
}

}  // namespace rampart::senderauth
