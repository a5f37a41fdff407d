// audit/verdicts.cpp — relay battery, smuggling variants and verdicts (see verdicts.hpp).
#include "audit/verdicts.hpp"

#include <algorithm>

#include "util/text.hpp"

namespace rampart::audit {

std::vector<RelayCase> relay_cases(std::string_view domain, std::string_view foreign, std::string_view ip,
                                   std::string_view mx_domain) {
    const std::string d(domain), f(foreign), lit = "[" + std::string(ip) + "]";
    const std::string user = "rampart-audit";
    std::vector<RelayCase> cases = {
        {"plain", "plain foreign recipient", user + "@" + f, false},
        {"percent_hack", "percent hack (user%foreign@domain)", user + "%" + f + "@" + d, true},
        {"percent_hack_literal", "percent hack at the server's address literal (user%foreign@[ip])", user + "%" + f + "@" + lit, true},
        {"bang_path", "bang path (foreign!user@domain)", f + "!" + user + "@" + d, true},
        {"bang_path_bare", "bare bang path (foreign!user)", f + "!" + user, false},
        {"quoted_local_part", "quoted local part (\"user@foreign\"@domain)", "\"" + user + "@" + f + "\"@" + d, true},
        {"quoted_address", "quoted address (\"user@foreign\")", "\"" + user + "@" + f + "\"", false},
        {"source_route", "source route (@domain:user@foreign)", "@" + d + ":" + user + "@" + f, false},
        {"foreign_literal", "foreign address literal (user@[192.0.2.1])", user + "@[192.0.2.1]", false},
    };
    if (!mx_domain.empty())
        cases.push_back({"mx_trick", "a domain whose MX is this server (user@mx-domain)", user + "@" + std::string(mx_domain), false});
    return cases;
}

Verdict relay_verdict(int mail_code, int rcpt_code, bool at_own_domain, bool accepts_any_local_part) {
    if (mail_code / 100 == 5)
        return {Outcome::Ok, "the sender was refused: nothing can be relayed from it (the recipient was not tried)"};
    if (mail_code / 100 != 2)
        return {Outcome::Inconclusive,
                mail_code == 0 ? "no reply to MAIL FROM" : "the sender was refused for now, so the recipient was never judged"};
    if (rcpt_code == 0) return {Outcome::Inconclusive, "no reply to RCPT TO"};
    if (rcpt_code / 100 == 2) {
        if (at_own_domain && accepts_any_local_part)
            return {Outcome::Inconclusive,
                    "accepted, but the server accepts any local part at its own domain, so only a delivery would tell "
                    "whether it relays this address"};
        return {Outcome::Open, "the server accepted a recipient it would have to relay"};
    }
    if (rcpt_code / 100 == 4) return {Outcome::Ok, "refused (temporarily)"};
    if (rcpt_code / 100 == 5) return {Outcome::Ok, "refused"};
    return {Outcome::Inconclusive, "unexpected reply to RCPT TO"};
}

Verdict vrfy_verdict(int known_code, int unknown_code) {
    auto yes = [](int c) { return c == 250 || c == 251; };
    auto no = [](int c) { return c == 550 || c == 551 || c == 553; };
    if (known_code == 0 || unknown_code == 0) return {Outcome::Inconclusive, "no reply to VRFY"};
    if ((yes(known_code) || known_code == 252) && no(unknown_code))
        return {Outcome::Open, "VRFY tells an existing address from an unknown one"};
    if (yes(unknown_code)) return {Outcome::Ok, "VRFY confirms any name, so it discloses nothing"};
    return {Outcome::Ok, "VRFY answers alike for a real and an unknown name"};
}

Verdict expn_verdict(int code) {
    if (code == 0) return {Outcome::Inconclusive, "no reply to EXPN"};
    if (code == 250) return {Outcome::Open, "EXPN lists the members of a mailing list or alias"};
    return {Outcome::Ok, "EXPN is not answered with a list"};
}

Verdict unexpected_replies_verdict(const std::vector<int>& extra_codes, std::string_view what) {
    if (extra_codes.empty()) return {Outcome::Ok, "the server did not answer " + std::string(what)};
    return {Outcome::Open, "the server answered " + std::string(what) + " (" + std::to_string(extra_codes.size()) +
                               " extra repl" + (extra_codes.size() == 1 ? "y" : "ies") + ")"};
}

Verdict bare_lf_verdict(int first_code, const std::vector<int>& extra_codes) {
    if (first_code == 0) return {Outcome::Inconclusive, "no reply"};
    if (first_code / 100 == 2 && !extra_codes.empty())
        return {Outcome::Open, "the server carried out a command that ended in a bare LF and read on after it"};
    if (!extra_codes.empty())
        return {Outcome::Ok, "the line that ended in a bare LF was refused (the rest was read as a new line)"};
    return {Outcome::Ok, "the server did not end the command line at the bare LF"};
}

std::vector<SmuggleVariant> smuggling_variants() {
    return {
        {"lf_dot_lf", "\n.\n"},
        {"lf_dot_crlf", "\n.\r\n"},
        {"crlf_dot_lf", "\r\n.\n"},
        {"cr_dot_cr", "\r.\r"},
        {"cr_dot_crlf", "\r.\r\n"},
        {"crlf_dot_cr", "\r\n.\r"},
    };
}

namespace {

// The keyword and arguments of an EHLO line "250-AUTH PLAIN LOGIN" → "AUTH PLAIN LOGIN",
// lower-cased.
std::string ehlo_item(const std::string& line) {
    return util::ascii_lower(line.size() > 4 ? std::string_view(line).substr(4) : std::string_view());
}

std::vector<std::string> words(std::string_view s) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '=' || s[i] == '\t')) ++i;
        std::size_t j = i;
        while (j < s.size() && s[j] != ' ' && s[j] != '=' && s[j] != '\t') ++j;
        if (j > i) out.emplace_back(s.substr(i, j - i));
        i = j;
    }
    return out;
}

}  // namespace

std::string clear_text_auth(const std::vector<std::string>& ehlo_lines) {
    std::string found;
    for (std::size_t n = 1; n < ehlo_lines.size(); ++n) {   // line 0 is the greeting name
        std::vector<std::string> w = words(ehlo_item(ehlo_lines[n]));
        if (w.empty() || w[0] != "auth") continue;
        for (const char* mech : {"plain", "login"})
            if (std::find(w.begin() + 1, w.end(), mech) != w.end() && found.find(mech) == std::string::npos)
                found += std::string(found.empty() ? "" : " ") + mech;
    }
    for (char& c : found) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    return found;
}

bool ehlo_has(const std::vector<std::string>& ehlo_lines, std::string_view keyword) {
    std::string want = util::ascii_lower(keyword);
    for (std::size_t n = 1; n < ehlo_lines.size(); ++n) {
        std::vector<std::string> w = words(ehlo_item(ehlo_lines[n]));
        if (!w.empty() && w[0] == want) return true;
    }
    return false;
}

std::string domain_from_greeting(std::string_view text) {
    // The reply text starts with the server's name (RFC 5321 §4.3.1, "220 domain ...").
    std::size_t end = text.find(' ');
    std::string name = util::ascii_lower(text.substr(0, end));
    while (!name.empty() && name.back() == '.') name.pop_back();
    if (name.empty() || name.front() == '[' || name.find('.') == std::string::npos) return {};
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return {};
    if (std::count(name.begin(), name.end(), '.') >= 2) name.erase(0, name.find('.') + 1);
    return name;
}

}  // namespace rampart::audit
