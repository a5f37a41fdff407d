// smtp/command_parser.cpp — command grammar. Errors are replies the client can act on:
// 500 unknown command, 501 bad syntax, 555 unknown or bad MAIL/RCPT parameter.
#include "smtp/command_parser.hpp"

#include "util/text.hpp"

#include <strings.h>

#include <array>
#include <cctype>
#include <charconv>

namespace rampart::smtp {
namespace {

bool ieq(std::string_view a, std::string_view b) {
    return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool istarts(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && strncasecmp(s.data(), prefix.data(), prefix.size()) == 0;
}

std::string_view trim_spaces(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
}

Reply syntax_error(std::string_view text) { return Reply(501, "5.5.4", text); }
Reply param_error(std::string_view text) { return Reply(555, "5.5.4", text); }

std::optional<std::uint64_t> parse_number(std::string_view s) {
    if (s.empty() || s.size() > 20) return std::nullopt;
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

struct Param {
    std::string_view key;
    std::optional<std::string_view> value;
};

// Splits "K1=V1 K2 K3=V3"; false on an empty keyword or bad characters.
template <class F>
std::optional<Reply> for_each_param(std::string_view s, F&& f) {
    s = trim_spaces(s);
    while (!s.empty()) {
        std::size_t sp = s.find(' ');
        std::string_view tok = s.substr(0, sp);
        s = sp == std::string_view::npos ? std::string_view{} : trim_spaces(s.substr(sp));
        std::size_t eq = tok.find('=');
        Param p{tok.substr(0, eq), std::nullopt};
        if (eq != std::string_view::npos) p.value = tok.substr(eq + 1);
        if (p.key.empty() || !std::isalnum(static_cast<unsigned char>(p.key[0])))
            return syntax_error("malformed ESMTP parameter");
        for (char c : p.key)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-')
                return syntax_error("malformed ESMTP parameter");
        // RFC 5321 §4.1.2: esmtp-value = 1*(%d33-60 / %d62-126). No TAB or other control
        // byte reaches a parameter's parser, the spool or a report.
        if (p.value)
            for (unsigned char c : *p.value)
                if (c < 33 || c > 126 || c == '=') return syntax_error("malformed ESMTP parameter value");
        if (auto err = f(p)) return err;
    }
    return std::nullopt;
}

std::optional<Reply> parse_mail_params(std::string_view s, MailParams& m) {
    unsigned seen = 0;
    auto once = [&seen](unsigned bit) {
        bool dup = (seen & bit) != 0;
        seen |= bit;
        return !dup;
    };
    return for_each_param(s, [&](const Param& p) -> std::optional<Reply> {
        if (ieq(p.key, "SIZE")) {
            if (!once(1)) return syntax_error("duplicate SIZE parameter");
            auto v = p.value ? parse_number(*p.value) : std::nullopt;
            if (!v) return syntax_error("SIZE needs a decimal number");
            m.size = v;
        } else if (ieq(p.key, "BODY")) {
            if (!once(2)) return syntax_error("duplicate BODY parameter");
            if (p.value && ieq(*p.value, "7BIT")) m.body = Body::SevenBit;
            else if (p.value && ieq(*p.value, "8BITMIME")) m.body = Body::EightBitMime;
            else return param_error("BODY must be 7BIT or 8BITMIME");
        } else if (ieq(p.key, "SMTPUTF8")) {
            if (!once(4)) return syntax_error("duplicate SMTPUTF8 parameter");
            if (p.value) return syntax_error("SMTPUTF8 takes no value");
            m.smtputf8 = true;
        } else if (ieq(p.key, "RET")) {
            if (!once(8)) return syntax_error("duplicate RET parameter");
            if (p.value && ieq(*p.value, "FULL")) m.ret = Ret::Full;
            else if (p.value && ieq(*p.value, "HDRS")) m.ret = Ret::Hdrs;
            else return param_error("RET must be FULL or HDRS");
        } else if (ieq(p.key, "ENVID")) {
            if (!once(16)) return syntax_error("duplicate ENVID parameter");
            if (!p.value || p.value->empty() || p.value->size() > 100 || !valid_xtext(*p.value))
                return param_error("ENVID must be xtext of at most 100 characters");
            m.envid.assign(*p.value);
        } else if (ieq(p.key, "AUTH")) {
            // RFC 4954 §5: accepted and ignored unless we trust the client; never an error.
        } else {
            return param_error("unsupported MAIL parameter");
        }
        return std::nullopt;
    });
}

// RFC 5322 §3.2.3 atext.
bool is_atext(unsigned char c) {
    return std::isalnum(c) || std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) != std::string_view::npos;
}

}  // namespace

bool valid_orcpt(std::string_view v) {
    std::size_t semi = v.find(';');
    if (semi == 0 || semi == std::string_view::npos || semi + 1 == v.size() || v.size() > 500) return false;
    for (unsigned char c : v.substr(0, semi))
        if (!is_atext(c)) return false;
    return valid_xtext(v.substr(semi + 1));
}

namespace {

std::optional<Reply> parse_rcpt_params(std::string_view s, RcptParams& r) {
    return for_each_param(s, [&](const Param& p) -> std::optional<Reply> {
        if (ieq(p.key, "NOTIFY")) {
            if (r.notify != 0) return syntax_error("duplicate NOTIFY parameter");
            if (!p.value || p.value->empty()) return param_error("NOTIFY needs a value");
            std::string_view v = *p.value;
            while (!v.empty()) {
                std::size_t c = v.find(',');
                std::string_view item = v.substr(0, c);
                v = c == std::string_view::npos ? std::string_view{} : v.substr(c + 1);
                if (ieq(item, "NEVER")) r.notify |= notify::Never;
                else if (ieq(item, "SUCCESS")) r.notify |= notify::Success;
                else if (ieq(item, "FAILURE")) r.notify |= notify::Failure;
                else if (ieq(item, "DELAY")) r.notify |= notify::Delay;
                else return param_error("NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY");
                if (c != std::string_view::npos && v.empty()) return param_error("NOTIFY list ends with a comma");
            }
            if ((r.notify & notify::Never) && r.notify != notify::Never)
                return param_error("NOTIFY=NEVER cannot be combined with other values");
        } else if (ieq(p.key, "ORCPT")) {
            if (!r.orcpt.empty()) return syntax_error("duplicate ORCPT parameter");
            if (!p.value || !valid_orcpt(*p.value)) return syntax_error("ORCPT must be addr-type;xtext");
            r.orcpt.assign(*p.value);
        } else {
            return param_error("unsupported RCPT parameter");
        }
        return std::nullopt;
    });
}

struct VerbName {
    std::string_view name;
    Verb verb;
};
constexpr std::array<VerbName, 14> kVerbs{{
    {"HELO", Verb::Helo}, {"EHLO", Verb::Ehlo}, {"MAIL", Verb::Mail}, {"RCPT", Verb::Rcpt},
    {"DATA", Verb::Data}, {"BDAT", Verb::Bdat}, {"RSET", Verb::Rset}, {"NOOP", Verb::Noop},
    {"QUIT", Verb::Quit}, {"VRFY", Verb::Vrfy}, {"EXPN", Verb::Expn}, {"HELP", Verb::Help},
    {"STARTTLS", Verb::StartTls}, {"AUTH", Verb::Auth},
}};

bool takes_no_argument(Verb v) {
    return v == Verb::Data || v == Verb::Rset || v == Verb::Quit || v == Verb::StartTls;
}

}  // namespace

std::string_view verb_name(Verb v) {
    for (const auto& vn : kVerbs)
        if (vn.verb == v) return vn.name;
    return "UNKNOWN";
}

bool valid_xtext(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '+') {
            if (i + 2 >= s.size()) return false;
            for (int k = 1; k <= 2; ++k) {
                char h = s[i + static_cast<std::size_t>(k)];
                if (!((h >= '0' && h <= '9') || (h >= 'A' && h <= 'F'))) return false;
            }
            i += 2;
            continue;
        }
        if (c < 33 || c > 126 || c == '=') return false;
    }
    return true;
}

std::string decode_xtext(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+' && i + 2 < s.size()) {
            out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::string encode_xtext(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (c < 33 || c > 126 || c == '+' || c == '=') util::append_hex_escape(out, '+', c);
        else out += static_cast<char>(c);
    }
    return out;
}

Command parse_command(std::string_view line, bool smtputf8) {
    Command cmd;
    for (unsigned char c : line) {
        if (c == 0 || c == '\r' || c == '\n' || (c < 32 && c != '\t') || c == 127) {
            cmd.error = Reply(500, "5.5.2", "control character in command");
            return cmd;
        }
    }
    std::size_t sp = line.find(' ');
    std::string_view word = line.substr(0, sp);
    std::string_view rest = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
    for (const auto& vn : kVerbs)
        if (ieq(word, vn.name)) cmd.verb = vn.verb;
    if (cmd.verb == Verb::Unknown) {
        cmd.error = Reply(500, "5.5.2", "command not recognized");
        return cmd;
    }
    if (takes_no_argument(cmd.verb)) {
        if (!trim_spaces(rest).empty()) cmd.error = syntax_error(std::string(verb_name(cmd.verb)) + " takes no arguments");
        return cmd;
    }
    switch (cmd.verb) {
        case Verb::Helo:
        case Verb::Ehlo: {
            std::string_view d = trim_spaces(rest);
            if (d.empty() || d.find(' ') != std::string_view::npos) {
                cmd.error = syntax_error(std::string(verb_name(cmd.verb)) + " needs one domain or address literal");
                return cmd;
            }
            // The argument goes into our Received header (session/received.cpp): bounded,
            // printable, and a name or literal, not the client's free text.
            if (!valid_helo_argument(d)) {
                cmd.error = syntax_error(std::string(verb_name(cmd.verb)) +
                                         " argument must be a domain name or an address literal (RFC 5321 §4.1.1.1)");
                return cmd;
            }
            cmd.argument.assign(d);
            return cmd;
        }
        case Verb::Mail:
        case Verb::Rcpt: {
            std::string_view prefix = cmd.verb == Verb::Mail ? "FROM:" : "TO:";
            if (!istarts(rest, prefix)) {
                cmd.error = syntax_error(cmd.verb == Verb::Mail ? "syntax is MAIL FROM:<address>" : "syntax is RCPT TO:<address>");
                return cmd;
            }
            rest.remove_prefix(prefix.size());
            // Tolerate "MAIL FROM: <a>": widely sent, unambiguous.
            while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
            bool is_mail = cmd.verb == Verb::Mail;
            // Parameters first for MAIL, because SMTPUTF8 decides how the path parses.
            std::size_t consumed = 0;
            PathResult pr = parse_path(rest, is_mail ? PathKind::Reverse : PathKind::Forward, true, &consumed);
            if (auto* err = std::get_if<AddressError>(&pr)) {
                cmd.error = Reply(err->code, err->enhanced, err->message);
                return cmd;
            }
            std::string_view params = rest.substr(consumed);
            if (!params.empty() && params.front() != ' ') {
                cmd.error = syntax_error("unexpected text after address");
                return cmd;
            }
            std::optional<Reply> perr = is_mail ? parse_mail_params(params, cmd.mail) : parse_rcpt_params(params, cmd.rcpt);
            if (perr) {
                cmd.error = perr;
                return cmd;
            }
            bool utf8 = is_mail ? cmd.mail.smtputf8 : smtputf8;
            if (!utf8) {
                // Re-parse strictly: non-ASCII needs SMTPUTF8 (RFC 6531 §3.4).
                pr = parse_path(rest, is_mail ? PathKind::Reverse : PathKind::Forward, false, nullptr);
                if (auto* err = std::get_if<AddressError>(&pr)) {
                    cmd.error = Reply(err->code, err->enhanced, err->message);
                    return cmd;
                }
            }
            cmd.path = std::get<Path>(std::move(pr));
            return cmd;
        }
        case Verb::Bdat: {
            std::string_view a = trim_spaces(rest);
            std::size_t s2 = a.find(' ');
            auto n = parse_number(a.substr(0, s2));
            if (!n) {
                cmd.error = syntax_error("syntax is BDAT size [LAST]");
                return cmd;
            }
            cmd.chunk_size = *n;
            if (s2 != std::string_view::npos) {
                if (!ieq(trim_spaces(a.substr(s2)), "LAST")) {
                    cmd.error = syntax_error("syntax is BDAT size [LAST]");
                    return cmd;
                }
                cmd.last_chunk = true;
            }
            return cmd;
        }
        default:
            cmd.argument.assign(trim_spaces(rest));
            return cmd;
    }
}

}  // namespace rampart::smtp
