// senderauth/spf_record.cpp — SPF record parsing and macro expansion (see spf_record.hpp).
#include "senderauth/spf_record.hpp"

#include <algorithm>
#include <cstdio>

#include "util/text.hpp"

namespace rampart::senderauth {
namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

ParseError error(std::string message) { return ParseError{0, std::move(message)}; }

// One piece of a macro-string: a literal run, or a macro-expand.
struct MacroToken {
    bool expand = false;
    std::string literal;    // literal text, or the replacement of %% %_ %-
    char letter = 0;        // %{...}: the macro letter as written (upper case: URL-escape)
    unsigned digits = 0;    // 0: all parts
    bool reverse = false;
    std::string delimiters; // empty: "."
};

// Splits a macro-string (§7.1). `spaces`: an explain-string, where SP is literal text.
Result<std::vector<MacroToken>, ParseError> tokenize(std::string_view s, bool spaces) {
    std::vector<MacroToken> out;
    auto literal = [&](char c) {
        if (out.empty() || out.back().expand) out.push_back(MacroToken{});
        out.back().literal += c;
    };
    for (std::size_t i = 0; i < s.size();) {
        char c = s[i];
        if (c != '%') {
            auto u = static_cast<unsigned char>(c);
            if (!((u >= 0x21 && u <= 0x7e) || (spaces && c == ' ')))
                return error("character " + util::display_escape(std::string_view(&s[i], 1)) + " not allowed in a macro-string");
            literal(c);
            ++i;
            continue;
        }
        if (i + 1 >= s.size()) return error("\"%\" at the end of a macro-string");
        char n = s[i + 1];
        if (n == '%' || n == '_' || n == '-') {
            MacroToken t;
            t.expand = true;
            t.literal = n == '%' ? "%" : n == '_' ? " " : "%20";
            out.push_back(std::move(t));
            i += 2;
            continue;
        }
        if (n != '{') return error("\"%\" must be followed by {, %, _ or - (RFC 7208 §7.1)");
        std::size_t close = s.find('}', i + 2);
        if (close == std::string_view::npos) return error("macro \"%{\" without \"}\"");
        std::string_view body = s.substr(i + 2, close - i - 2);
        if (body.empty()) return error("empty macro \"%{}\"");
        MacroToken t;
        t.expand = true;
        t.letter = body[0];
        std::string_view rest = body.substr(1);
        std::size_t d = 0;
        while (d < rest.size() && is_digit(rest[d])) ++d;
        if (d > 0) {
            if (d > 3) return error("macro transformer number too large in \"%{" + std::string(body) + "}\"");
            unsigned v = 0;
            for (std::size_t k = 0; k < d; ++k) v = v * 10 + static_cast<unsigned>(rest[k] - '0');
            if (v == 0) return error("macro transformer 0 in \"%{" + std::string(body) + "}\" (must be nonzero)");
            t.digits = v;
        }
        rest = rest.substr(d);
        if (!rest.empty() && (rest[0] == 'r' || rest[0] == 'R')) {
            t.reverse = true;
            rest = rest.substr(1);
        }
        for (char dc : rest) {
            if (std::string_view(".-+,/_=").find(dc) == std::string_view::npos)
                return error("bad macro delimiter in \"%{" + std::string(body) + "}\"");
            t.delimiters += dc;
        }
        char l = static_cast<char>(t.letter | 0x20);
        if (std::string_view("slodiphcrtv").find(l) == std::string_view::npos || !is_alpha(t.letter))
            return error("unknown macro letter in \"%{" + std::string(body) + "}\"");
        out.push_back(std::move(t));
        i = close + 1;
    }
    return out;
}

// toplabel (§4.6.1 via RFC 7208 ABNF): alphanumerics with at least one letter, or
// alphanumerics and inner hyphens.
bool is_toplabel(std::string_view l) {
    if (l.empty() || l.size() > 63) return false;
    if (!is_alnum(l.front()) || !is_alnum(l.back())) return false;
    bool alpha = false, hyphen = false;
    for (char c : l) {
        if (c == '-') hyphen = true;
        else if (!is_alnum(c)) return false;
        if (is_alpha(c)) alpha = true;
    }
    return alpha || hyphen;
}

// domain-spec = macro-string domain-end; domain-end = "." toplabel ["."] / macro-expand.
std::string domain_spec_problem(std::string_view spec) {
    if (spec.empty()) return "empty domain-spec";
    auto tokens = tokenize(spec, false);
    if (!tokens) return tokens.error().message;
    if (tokens->back().expand) return {};
    std::string_view lit = tokens->back().literal;
    if (!lit.empty() && lit.back() == '.') lit.remove_suffix(1);
    std::size_t dot = lit.rfind('.');
    if (dot == std::string_view::npos) {
        // The toplabel's dot may come right after a macro: "%{d}.com" is not this case,
        // "foo" alone (no dot at all) is.
        return "domain-spec \"" + std::string(spec) + "\" is not a domain name with a dot";
    }
    if (!is_toplabel(lit.substr(dot + 1))) return "domain-spec \"" + std::string(spec) + "\" does not end in a valid top label";
    return {};
}

// A CIDR length: "0" or digits without a leading zero, at most `max`.
std::optional<unsigned> cidr_length(std::string_view s, unsigned max) {
    if (s.empty() || s.size() > 3 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
    unsigned v = 0;
    for (char c : s) {
        if (!is_digit(c)) return std::nullopt;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > max) return std::nullopt;
    return v;
}

// Strips a trailing "/N" (when `dual`, "//N" first) from `rest`.
bool strip_cidr(std::string_view& rest, Mechanism& m, bool dual) {
    auto take = [&](bool six) -> std::optional<bool> {   // nullopt: malformed
        std::size_t slash = rest.rfind('/');
        if (slash == std::string_view::npos) return false;
        std::string_view num = rest.substr(slash + 1);
        bool dbl = slash > 0 && rest[slash - 1] == '/';
        if (six != dbl) return false;
        if (num.empty() || !std::all_of(num.begin(), num.end(), is_digit)) return false;
        auto v = cidr_length(num, six ? 128 : 32);
        if (!v) return std::nullopt;
        (six ? m.cidr6 : m.cidr4) = *v;
        rest = rest.substr(0, slash - (dbl ? 1 : 0));
        return true;
    };
    if (dual) {
        auto six = take(true);
        if (!six) return false;
    }
    auto four = take(false);
    return four.has_value();
}

Result<Mechanism, ParseError> parse_mechanism(std::string_view term) {
    Mechanism m;
    m.text = std::string(term);
    std::string_view t = term;
    switch (t.empty() ? '\0' : t[0]) {
        case '+': m.qualifier = Qualifier::Pass; t.remove_prefix(1); break;
        case '-': m.qualifier = Qualifier::Fail; t.remove_prefix(1); break;
        case '~': m.qualifier = Qualifier::SoftFail; t.remove_prefix(1); break;
        case '?': m.qualifier = Qualifier::Neutral; t.remove_prefix(1); break;
        default: break;
    }
    std::size_t end = t.find_first_of(":/");
    std::string name = util::ascii_lower(t.substr(0, end));
    std::string_view rest = end == std::string_view::npos ? std::string_view() : t.substr(end);
    auto bad = [&](std::string why) { return error("term \"" + util::display_escape(term) + "\": " + why); };
    auto domain_arg = [&](bool required) -> std::optional<ParseError> {
        if (rest.empty()) {
            if (required) return bad("needs \":domain\"");
            return std::nullopt;
        }
        if (rest[0] != ':' || rest.size() == 1) return bad("expected \":domain\"");
        m.domain_spec = std::string(rest.substr(1));
        if (std::string p = domain_spec_problem(m.domain_spec); !p.empty()) return bad(p);
        return std::nullopt;
    };
    if (name == "all") {
        m.kind = MechanismKind::All;
        if (!rest.empty()) return bad("\"all\" takes no argument");
    } else if (name == "include" || name == "exists") {
        m.kind = name == "include" ? MechanismKind::Include : MechanismKind::Exists;
        if (auto e = domain_arg(true)) return *e;
    } else if (name == "a" || name == "mx") {
        m.kind = name == "a" ? MechanismKind::A : MechanismKind::Mx;
        if (!strip_cidr(rest, m, true)) return bad("bad CIDR length");
        if (auto e = domain_arg(false)) return *e;
    } else if (name == "ptr") {
        m.kind = MechanismKind::Ptr;
        if (auto e = domain_arg(false)) return *e;
    } else if (name == "ip4" || name == "ip6") {
        bool six = name == "ip6";
        m.kind = six ? MechanismKind::Ip6 : MechanismKind::Ip4;
        if (rest.size() < 2 || rest[0] != ':') return bad("needs \":address\"");
        std::string_view net = rest.substr(1);
        unsigned prefix = six ? 128 : 32;
        if (std::size_t slash = net.find('/'); slash != std::string_view::npos) {
            auto v = cidr_length(net.substr(slash + 1), six ? 128 : 32);
            if (!v) return bad("bad CIDR length");
            prefix = *v;
            net = net.substr(0, slash);
        }
        auto addr = net::IpAddress::parse(net);
        if (!addr || addr->v6 != six) return bad(std::string("not an IPv") + (six ? "6" : "4") + " address");
        auto cidr = net::Cidr::parse(addr->text() + "/" + std::to_string(prefix));
        if (!cidr) return bad("bad network");
        m.network = *cidr;
    } else {
        return bad("unknown mechanism");
    }
    return m;
}

std::string url_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += c;
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
            out += buf;
        }
    }
    return out;
}

}  // namespace

std::string_view mechanism_name(MechanismKind k) {
    switch (k) {
        case MechanismKind::All: return "all";
        case MechanismKind::Include: return "include";
        case MechanismKind::A: return "a";
        case MechanismKind::Mx: return "mx";
        case MechanismKind::Ptr: return "ptr";
        case MechanismKind::Ip4: return "ip4";
        case MechanismKind::Ip6: return "ip6";
        case MechanismKind::Exists: return "exists";
    }
    return "?";
}

bool is_spf_record(std::string_view txt) {
    if (txt.size() < 6 || util::ascii_lower(txt.substr(0, 6)) != "v=spf1") return false;
    return txt.size() == 6 || txt[6] == ' ';
}

std::string macro_string_problem(std::string_view macro_string) {
    auto t = tokenize(macro_string, false);
    return t ? std::string() : t.error().message;
}

bool uses_ptr_macro(std::string_view macro_string) {
    auto t = tokenize(macro_string, true);
    if (!t) return false;
    return std::any_of(t->begin(), t->end(), [](const MacroToken& m) { return m.expand && (m.letter | 0x20) == 'p'; });
}

Result<SpfRecord, ParseError> parse_spf_record(std::string_view record) {
    if (!is_spf_record(record)) return error("not an SPF record (must start with \"v=spf1\")");
    SpfRecord r;
    std::string_view rest = record.substr(6);
    std::size_t pos = 0;
    while (pos < rest.size()) {
        if (rest[pos] == ' ') {
            ++pos;
            continue;
        }
        std::size_t end = rest.find(' ', pos);
        if (end == std::string_view::npos) end = rest.size();
        std::string_view term = rest.substr(pos, end - pos);
        pos = end;
        // A modifier: name "=" macro-string, where name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ).
        std::size_t n = 0;
        if (is_alpha(term[0]))
            while (n < term.size() && (is_alnum(term[n]) || term[n] == '-' || term[n] == '_' || term[n] == '.')) ++n;
        if (n > 0 && n < term.size() && term[n] == '=') {
            std::string name = util::ascii_lower(term.substr(0, n));
            std::string value(term.substr(n + 1));
            if (name == "redirect" || name == "exp") {
                std::optional<std::string>& slot = name == "redirect" ? r.redirect : r.exp;
                if (slot) return error("modifier \"" + name + "\" appears twice (RFC 7208 §6)");
                if (std::string p = domain_spec_problem(value); !p.empty()) return error(name + "=: " + p);
                slot = std::move(value);
            } else if (std::string p = macro_string_problem(value); !p.empty()) {
                return error("modifier \"" + name + "\": " + p);
            }
            continue;
        }
        auto m = parse_mechanism(term);
        if (!m) return m.error();
        r.mechanisms.push_back(std::move(*m));
    }
    return r;
}

std::string macro_ip(const net::IpAddress& raw) {
    net::IpAddress ip = raw.unmapped();
    if (!ip.v6) return ip.text();
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < 16; ++i) {
        if (i) out += '.';
        out += hex[ip.bytes[i] >> 4];
        out += '.';
        out += hex[ip.bytes[i] & 0xf];
    }
    return out;
}

std::string reverse_name(const net::IpAddress& raw) {
    net::IpAddress ip = raw.unmapped();
    std::string out;
    if (!ip.v6) {
        for (int i = 3; i >= 0; --i) out += std::to_string(ip.bytes[static_cast<std::size_t>(i)]) + ".";
        return out + "in-addr.arpa";
    }
    static constexpr char hex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
        out += hex[ip.bytes[static_cast<std::size_t>(i)] & 0xf];
        out += '.';
        out += hex[ip.bytes[static_cast<std::size_t>(i)] >> 4];
        out += '.';
    }
    return out + "ip6.arpa";
}

Result<std::string, ParseError> expand_macros(std::string_view macro_string, const MacroContext& ctx, bool explanation,
                                              bool domain) {
    auto tokens = tokenize(macro_string, explanation);
    if (!tokens) return tokens.error();
    std::string out;
    for (const MacroToken& t : *tokens) {
        if (!t.expand || t.letter == 0) {
            out += t.literal;
            continue;
        }
        std::string value;
        net::IpAddress ip = ctx.ip.unmapped();
        switch (t.letter | 0x20) {
            case 's': value = ctx.sender; break;
            case 'l': value = ctx.local_part; break;
            case 'o': value = ctx.sender_domain; break;
            case 'd': value = ctx.domain; break;
            case 'i': value = macro_ip(ip); break;
            case 'p': value = ctx.validated_ptr; break;
            case 'v': value = ip.v6 ? "ip6" : "in-addr"; break;
            case 'h': value = ctx.helo; break;
            case 'c':
            case 'r':
            case 't':
                if (!explanation) return error(std::string("macro letter \"") + t.letter + "\" is allowed only in exp text");
                if ((t.letter | 0x20) == 'c') value = ip.text();
                else if ((t.letter | 0x20) == 'r') value = ctx.receiver.empty() ? "unknown" : ctx.receiver;
                else value = std::to_string(ctx.timestamp);
                break;
            default: return error("unknown macro letter");
        }
        if (t.digits || t.reverse || !t.delimiters.empty()) {
            std::string delims = t.delimiters.empty() ? "." : t.delimiters;
            std::vector<std::string> parts(1);
            for (char c : value) {
                if (delims.find(c) != std::string::npos) parts.emplace_back();
                else parts.back() += c;
            }
            if (t.reverse) std::reverse(parts.begin(), parts.end());
            std::size_t keep = t.digits && t.digits < parts.size() ? t.digits : parts.size();
            value.clear();
            for (std::size_t i = parts.size() - keep; i < parts.size(); ++i) {
                if (i != parts.size() - keep) value += '.';
                value += parts[i];
            }
        }
        out += is_alpha(t.letter) && t.letter >= 'A' && t.letter <= 'Z' ? url_escape(value) : value;
    }
    if (domain) {
        // §7.3: too long for a domain name: drop labels on the left until it fits.
        while (out.size() > 253) {
            std::size_t dot = out.find('.');
            if (dot == std::string::npos) {
                out.clear();
                break;
            }
            out.erase(0, dot + 1);
        }
    }
    return out;
}

}  // namespace rampart::senderauth
