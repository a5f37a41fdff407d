// senderauth/dmarc.cpp — DMARC record parsing, From domain, discovery and evaluation.
// Trust: hostile message and DNS text; one pass per parse, capped sizes. Pure.
#include "senderauth/dmarc.hpp"

#include <algorithm>

#include "mime/header.hpp"
#include "senderauth/dkim_signature.hpp"
#include "util/text.hpp"

namespace rampart::senderauth::dmarc {

namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
    return s;
}

std::optional<Policy> parse_policy(std::string_view v) {
    std::string s = util::ascii_lower(v);
    if (s == "none") return Policy::None;
    if (s == "quarantine") return Policy::Quarantine;
    if (s == "reject") return Policy::Reject;
    return std::nullopt;
}

std::vector<std::string> split_commas(std::string_view v, std::size_t cap) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos <= v.size() && out.size() < cap) {
        std::size_t c = v.find(',', pos);
        if (c == std::string_view::npos) c = v.size();
        std::string_view item = trim(v.substr(pos, c - pos));
        if (!item.empty()) out.emplace_back(item);
        pos = c + 1;
    }
    return out;
}

std::string normalize_domain(std::string_view d) {
    std::string s = util::ascii_lower(trim(d));
    while (!s.empty() && s.back() == '.') s.pop_back();
    return s;
}

// The header block of a message: everything before the first empty line.
std::string_view header_block(std::string_view message) {
    std::size_t pos = 0;
    while (pos < message.size()) {
        std::size_t nl = message.find('\n', pos);
        if (nl == std::string_view::npos) break;
        std::string_view line = message.substr(pos, nl - pos);
        if (line.empty() || line == "\r") return message.substr(0, pos);
        pos = nl + 1;
    }
    return message;
}

Outcome final_outcome(DmarcResult r, std::string reason, std::string from) {
    Outcome o;
    o.result = r;
    o.reason = std::move(reason);
    o.from_domain = std::move(from);
    return o;
}

Policy next_lower(Policy p) {
    return p == Policy::Reject ? Policy::Quarantine : Policy::None;
}

}  // namespace

std::string_view policy_name(Policy p) {
    switch (p) {
    case Policy::None: return "none";
    case Policy::Quarantine: return "quarantine";
    case Policy::Reject: return "reject";
    }
    return "none";
}

std::string_view result_name(DmarcResult r) {
    switch (r) {
    case DmarcResult::None: return "none";
    case DmarcResult::Pass: return "pass";
    case DmarcResult::Fail: return "fail";
    case DmarcResult::TempError: return "temperror";
    case DmarcResult::PermError: return "permerror";
    }
    return "none";
}

bool is_dmarc_record(std::string_view txt) {
    std::string_view t = trim(txt);
    if (!t.starts_with("v")) return false;
    t.remove_prefix(1);
    t = trim(t);
    if (!t.starts_with("=")) return false;
    t = trim(t.substr(1));
    if (t.size() < 6 || util::ascii_lower(t.substr(0, 6)) != "dmarc1") return false;
    t = trim(t.substr(6));
    return t.empty() || t.front() == ';';
}

Result<Record> parse_record(std::string_view txt) {
    if (txt.size() > kMaxRecord) return Error{0, "DMARC record too long"};
    if (!is_dmarc_record(txt)) return Error{0, "not a DMARC record (v=DMARC1 first)"};
    auto tags = parse_tag_list(txt);
    if (!tags) return Error{0, "DMARC record: " + tags.error().message};
    Record rec;
    bool have_p = false, bad_p = false;
    for (const Tag& t : *tags) {
        std::string name = util::ascii_lower(t.name);
        if (name == "p") {
            auto p = parse_policy(t.value);
            if (p) { rec.p = *p; have_p = true; } else bad_p = true;
        } else if (name == "sp") {
            auto p = parse_policy(t.value);
            if (p) rec.sp = *p; else rec.warnings.push_back("bad sp=, ignored");
        } else if (name == "pct") {
            std::string_view v = t.value;
            unsigned n = 0;
            bool ok = !v.empty() && v.size() <= 3;
            for (char c : v) {
                if (c < '0' || c > '9') { ok = false; break; }
                n = n * 10 + static_cast<unsigned>(c - '0');
            }
            if (ok && n <= 100) rec.pct = n; else rec.warnings.push_back("bad pct=, 100 used");
        } else if (name == "adkim" || name == "aspf") {
            std::string v = util::ascii_lower(t.value);
            bool strict = v == "s";
            if (v != "s" && v != "r") rec.warnings.push_back("bad " + name + "=, relaxed used");
            (name == "adkim" ? rec.adkim_strict : rec.aspf_strict) = strict;
        } else if (name == "rua") {
            rec.rua = split_commas(t.value, 16);
        } else if (name == "ruf") {
            rec.ruf = split_commas(t.value, 16);
        } else if (name == "fo") {
            rec.fo = std::string(t.value);
        }
        // v, rf, ri and unknown tags: nothing to do (§6.3: unknown tags are ignored).
    }
    if (!have_p) {
        // §6.6.3 step 6: a record without a valid p= but with a valid rua= is p=none.
        if (!rec.rua.empty()) {
            rec.p = Policy::None;
            rec.warnings.push_back(bad_p ? "bad p=, none used" : "missing p=, none used");
        } else {
            return Error{0, bad_p ? "DMARC record: bad p=" : "DMARC record: missing p="};
        }
    }
    return rec;
}

std::vector<std::string> from_domains(std::string_view v) {
    std::vector<std::string> out;
    std::string current;   // the mailbox text outside comments and quotes
    std::string angle;     // the text inside <...>
    bool in_angle = false, had_angle = false, in_quote = false;
    int comment = 0;
    auto finish = [&]() {
        std::string_view addr = had_angle ? std::string_view(angle) : trim(current);
        if (had_angle) {
            std::size_t colon = addr.rfind(':');   // obsolete route "@a,@b:user@host"
            if (colon != std::string_view::npos) addr = addr.substr(colon + 1);
        }
        addr = trim(addr);
        if (!addr.empty()) {
            std::size_t at = addr.rfind('@');
            std::string d = at == std::string_view::npos ? std::string() : normalize_domain(addr.substr(at + 1));
            out.push_back(valid_domain(d) ? d : std::string());
        }
        current.clear();
        angle.clear();
        had_angle = in_angle = false;
    };
    for (std::size_t i = 0; i < v.size() && out.size() < 64; ++i) {
        char c = v[i];
        if (comment > 0) {
            if (c == '\\') ++i;
            else if (c == '(') comment = std::min(comment + 1, 64);
            else if (c == ')') --comment;
            continue;
        }
        if (in_quote) {
            if (c == '\\') ++i;
            else if (c == '"') in_quote = false;
            continue;   // quoted text is a display name or a local part: not the domain
        }
        if (c == '"') {
            in_quote = true;
            (in_angle ? angle : current) += 'q';   // keep a local part non-empty
            continue;
        }
        if (c == '(') { comment = 1; continue; }
        if (in_angle) {
            if (c == '>') in_angle = false;
            else angle += c;
            continue;
        }
        if (c == '<') { in_angle = true; had_angle = true; angle.clear(); continue; }
        if (c == ',' || c == ';') { finish(); continue; }
        if (c == ':' && !had_angle) { current.clear(); continue; }   // a group's display name
        current += c;
    }
    if (out.size() < 64) finish();
    return out;
}

Request request(std::string_view message, const PublicSuffixList& psl) {
    Request req;
    std::string_view block = header_block(message);
    auto fields = mime::header_fields(block, 1000);
    const mime::HeaderField* from = nullptr;
    for (const auto& f : fields) {
        if (!mime::iequals(f.name, "From")) continue;
        if (from) {
            req.done = true;
            req.outcome = final_outcome(DmarcResult::PermError, "several From fields", "");
            return req;
        }
        from = &f;
    }
    if (!from) {
        req.done = true;
        req.outcome = final_outcome(DmarcResult::PermError, "no From field", "");
        return req;
    }
    auto domains = from_domains(mime::unfold(from->raw_value, 8192));
    std::string domain;
    for (const std::string& d : domains) {
        if (d.empty()) {
            req.done = true;
            req.outcome = final_outcome(DmarcResult::PermError, "From address without a usable domain", "");
            return req;
        }
        if (!domain.empty() && d != domain) {
            // §6.6.1: several authors in different domains; which policy would apply is unclear.
            req.done = true;
            req.outcome = final_outcome(DmarcResult::PermError, "From addresses in several domains", "");
            return req;
        }
        domain = d;
    }
    if (domain.empty()) {
        req.done = true;
        req.outcome = final_outcome(DmarcResult::PermError, "no From address", "");
        return req;
    }
    req.from_domain = domain;
    req.org_domain = psl.organizational_domain(domain);
    req.names.push_back("_dmarc." + domain);
    if (req.org_domain != domain) req.names.push_back("_dmarc." + req.org_domain);
    return req;
}

bool keep_looking(const TxtAnswer& answer) {
    if (answer.kind == TxtAnswer::Kind::TempFailure) return false;
    if (answer.kind == TxtAnswer::Kind::Records)
        for (const std::string& r : answer.records)
            if (is_dmarc_record(r)) return false;
    return true;
}

Outcome evaluate(const Request& req, std::span<const TxtAnswer> answers, const SpfIdentity& spf,
                 std::span<const dkim::DkimOutcome> dkim_outcomes, const PublicSuffixList& psl, unsigned roll) {
    if (req.done) return req.outcome;
    const std::string& from = req.from_domain;
    std::optional<Record> record;
    std::size_t found_at = 0;
    for (std::size_t i = 0; i < answers.size() && i < req.names.size(); ++i) {
        const TxtAnswer& a = answers[i];
        if (a.kind == TxtAnswer::Kind::TempFailure)
            return final_outcome(DmarcResult::TempError, "DMARC record lookup failed for " + req.names[i], from);
        std::vector<std::string_view> recs;
        if (a.kind == TxtAnswer::Kind::Records)
            for (const std::string& r : a.records)
                if (is_dmarc_record(r)) recs.push_back(r);
        if (recs.empty()) continue;
        if (recs.size() > 1)   // §6.6.3 step 5: several records, DMARC does not apply
            return final_outcome(DmarcResult::None, "several DMARC records at " + req.names[i], from);
        auto parsed = parse_record(recs.front());
        if (!parsed) return final_outcome(DmarcResult::PermError, parsed.error().message, from);
        record = std::move(*parsed);
        found_at = i;
        break;
    }
    if (!record) return final_outcome(DmarcResult::None, "no DMARC record", from);

    Outcome o = final_outcome(DmarcResult::Fail, "", from);
    // sp= applies when the record is the organisational domain's and From is below it.
    o.published = found_at > 0 ? record->sp.value_or(record->p) : record->p;

    auto aligned = [&](const std::string& id, bool strict) {
        std::string d = normalize_domain(id);
        if (d.empty()) return false;
        if (strict) return d == from;
        return psl.organizational_domain(d) == req.org_domain;
    };
    for (const dkim::DkimOutcome& d : dkim_outcomes) {
        if (d.result == dkim::DkimResult::Pass && aligned(d.domain, record->adkim_strict)) {
            o.result = DmarcResult::Pass;
            o.reason = "DKIM pass aligned (d=" + d.domain + ")";
            return o;
        }
    }
    if (spf.pass && aligned(spf.domain, record->aspf_strict)) {
        o.result = DmarcResult::Pass;
        o.reason = "SPF pass aligned (" + normalize_domain(spf.domain) + ")";
        return o;
    }
    o.disposition = o.published;
    if (record->pct < 100 && roll >= record->pct) {   // §6.6.4: outside the sample, next lower policy
        o.disposition = next_lower(o.published);
        o.sampled_out = true;
    }
    std::string why = "no aligned SPF or DKIM pass";
    for (const dkim::DkimOutcome& d : dkim_outcomes)
        if (d.result == dkim::DkimResult::Pass) { why += " (DKIM pass d=" + d.domain + " not aligned)"; break; }
    if (spf.pass) why += " (SPF pass " + normalize_domain(spf.domain) + " not aligned)";
    o.reason = why + "; policy " + std::string(found_at > 0 && record->sp ? "sp=" : "p=") +
               std::string(policy_name(o.published)) + (o.sampled_out ? " (pct= sampled out)" : "");
    return o;
}

}  // namespace rampart::senderauth::dmarc
