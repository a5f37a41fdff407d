// senderauth/auth_results.cpp — building and filtering Authentication-Results fields
// (see auth_results.hpp).
#include "senderauth/auth_results.hpp"

#include "util/text.hpp"

namespace rampart::senderauth {
namespace {

constexpr std::string_view kField = "Authentication-Results";

// RFC 2045 token characters (RFC 8601 §2.2 value = token / quoted-string).
bool token_char(char c) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
    return std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
}

// A property value: a token as is, otherwise a quoted-string. An address local@domain is
// allowed as is (RFC 8601 §2.3: pvalue may be [local-part "@"] domain-name).
std::string pvalue(std::string_view v) {
    bool plain = !v.empty();
    std::size_t at = v.rfind('@');
    for (std::size_t i = 0; i < v.size(); ++i)
        if (!token_char(v[i]) && !(i == at)) plain = false;
    if (plain) return std::string(v);
    std::string out = "\"";
    for (char c : v) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) continue;
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

// A comment "(...)": parentheses and backslashes escaped, controls and non-ASCII dropped.
std::string comment(std::string_view text) {
    std::string out = "(";
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u >= 0x7f) continue;
        if (c == '(' || c == ')' || c == '\\') out += '\\';
        out += c;
        if (out.size() > 300) {
            out += "...";
            break;
        }
    }
    return out + ")";
}

// Skips CFWS (RFC 5322 §3.2.2: whitespace and nested comments) from `pos`.
void skip_cfws(std::string_view s, std::size_t& pos) {
    while (pos < s.size()) {
        char c = s[pos];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            ++pos;
        } else if (c == '(') {
            int depth = 0;
            while (pos < s.size()) {
                if (s[pos] == '\\') {
                    pos += 2;
                    continue;
                }
                if (s[pos] == '(') ++depth;
                if (s[pos] == ')' && --depth == 0) {
                    ++pos;
                    break;
                }
                ++pos;
            }
        } else {
            return;
        }
    }
}

}  // namespace

std::string format_authentication_results(const AuthResults& r) {
    std::vector<std::string> results;
    if (r.spf && !r.spf->identity.empty()) {
        const SpfOutcome& s = *r.spf;
        std::string line = "spf=" + std::string(spf_result_name(s.result));
        if (!s.reason.empty()) line += " " + comment(s.reason);
        if (s.identity == "helo") line += " smtp.helo=" + pvalue(s.domain);
        else line += " smtp.mailfrom=" + pvalue(s.sender);
        results.push_back(std::move(line));
    }
    if (r.dkim_checked && r.dkim.empty()) results.emplace_back("dkim=none (no signature)");
    for (const dkim::DkimOutcome& d : r.dkim) {
        std::string line = "dkim=" + std::string(dkim::result_name(d.result));
        std::string why = d.reason;
        if (d.testing) why += std::string(why.empty() ? "" : "; ") + "key in testing mode (t=y)";
        if (!why.empty()) line += " " + comment(why);
        if (!d.domain.empty()) line += " header.d=" + pvalue(d.domain);
        if (!d.selector.empty()) line += " header.s=" + pvalue(d.selector);
        if (!d.header_b.empty()) line += " header.b=" + pvalue(d.header_b);
        results.push_back(std::move(line));
    }
    if (r.dmarc) {
        const dmarc::Outcome& o = *r.dmarc;
        std::string line = "dmarc=" + std::string(dmarc::result_name(o.result));
        std::string why;
        if (o.result == dmarc::DmarcResult::Pass || o.result == dmarc::DmarcResult::Fail)
            why = "p=" + std::string(dmarc::policy_name(o.published)) + " dis=" + std::string(dmarc::policy_name(o.disposition));
        if (!o.reason.empty()) why += (why.empty() ? "" : "; ") + o.reason;
        if (!why.empty()) line += " " + comment(why);
        if (!o.from_domain.empty()) line += " header.from=" + pvalue(o.from_domain);
        results.push_back(std::move(line));
    }
    std::string out = std::string(kField) + ": " + pvalue(r.authserv_id) + ";";
    if (results.empty()) return out + " none";
    for (std::size_t i = 0; i < results.size(); ++i) out += "\r\n\t" + results[i] + (i + 1 < results.size() ? ";" : "");
    return out;
}

std::optional<std::string> authserv_id_of(std::string_view v) {
    std::size_t pos = 0;
    skip_cfws(v, pos);
    if (pos >= v.size()) return std::nullopt;
    std::string id;
    if (v[pos] == '"') {
        ++pos;
        while (pos < v.size() && v[pos] != '"') {
            if (v[pos] == '\\' && pos + 1 < v.size()) ++pos;
            id += v[pos++];
        }
        if (pos >= v.size()) return std::nullopt;   // unterminated
    } else {
        while (pos < v.size() && token_char(v[pos])) id += v[pos++];
    }
    if (id.empty()) return std::nullopt;
    return util::ascii_lower(id);
}

std::optional<std::string> remove_own_results(std::string_view message, std::string_view authserv_id) {
    std::string ours = util::ascii_lower(authserv_id);
    std::string field = util::ascii_lower(kField);
    std::string out;
    bool removed = false;
    std::size_t pos = 0;
    // Header fields: a line not starting with WSP begins one; continuation lines belong to it.
    while (pos < message.size()) {
        std::size_t nl = message.find('\n', pos);
        std::size_t next = nl == std::string_view::npos ? message.size() : nl + 1;
        std::string_view line = message.substr(pos, next - pos);
        if (line == "\r\n" || line == "\n") break;   // end of the header block
        std::size_t end = next;                        // extend over continuation lines
        while (end < message.size() && (message[end] == ' ' || message[end] == '\t')) {
            std::size_t n2 = message.find('\n', end);
            end = n2 == std::string_view::npos ? message.size() : n2 + 1;
        }
        std::string_view whole = message.substr(pos, end - pos);
        std::size_t colon = whole.find(':');
        bool drop = false;
        if (colon != std::string_view::npos) {
            std::string name = util::ascii_lower(whole.substr(0, colon));
            while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
            if (name == field) {
                auto id = authserv_id_of(whole.substr(colon + 1));
                drop = id && *id == ours;
            }
        }
        if (drop) removed = true;
        else out.append(whole);
        pos = end;
    }
    if (!removed) return std::nullopt;
    out.append(message.substr(pos));
    return out;
}

}  // namespace rampart::senderauth
