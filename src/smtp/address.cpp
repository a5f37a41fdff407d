// smtp/address.cpp — the path grammar of RFC 5321 §4.1.2, extended per RFC 6531 §3.3.
#include "smtp/address.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <cstring>

namespace rampart::smtp {
namespace {

constexpr std::size_t kMaxLocal = 64;    // RFC 5321 §4.5.3.1.1
constexpr std::size_t kMaxDomain = 255;  // §4.5.3.1.2
constexpr std::size_t kMaxPath = 256;    // §4.5.3.1.3

bool is_atext(unsigned char c) {
    if (std::isalnum(c)) return true;
    return std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr && c != 0;
}

bool is_letdig(unsigned char c) { return std::isalnum(c) != 0; }

AddressError syntax(std::string msg) { return {501, "5.1.3", std::move(msg)}; }

// Length in bytes of the UTF-8 sequence starting at s[i], 0 if invalid.
std::size_t utf8_seq(std::string_view s, std::size_t i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t n;
    unsigned cp;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) { n = 2; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { n = 3; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 4; cp = c & 0x07; }
    else return 0;
    if (i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        unsigned char cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (cc & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
    if (cp >= 0xd800 && cp <= 0xdfff) return 0;
    return n;
}

class Parser {
public:
    Parser(std::string_view s, bool utf8) : s_(s), utf8_(utf8) {}

    std::size_t pos() const { return i_; }
    bool at_end() const { return i_ >= s_.size(); }
    char peek() const { return at_end() ? '\0' : s_[i_]; }
    bool eat(char c) {
        if (peek() != c || at_end()) return false;
        ++i_;
        return true;
    }

    // Non-ASCII byte at i_: consumes a valid UTF-8 sequence if allowed. Returns false and
    // sets err_ otherwise.
    bool eat_utf8() {
        if (!utf8_) {
            err_ = AddressError{553, "5.6.7", "non-ASCII address requires the SMTPUTF8 parameter"};
            return false;
        }
        std::size_t n = utf8_seq(s_, i_);
        if (n == 0) {
            err_ = AddressError{553, "5.6.7", "address is not valid UTF-8"};
            return false;
        }
        i_ += n;
        return true;
    }

    // Dot-string or Quoted-string; returns false with err_ set.
    bool local_part(Mailbox& m) {
        std::size_t start = i_;
        if (eat('"')) {
            m.quoted = true;
            while (true) {
                if (at_end()) { err_ = syntax("unterminated quoted local part"); return false; }
                unsigned char c = static_cast<unsigned char>(s_[i_]);
                if (c == '"') { ++i_; break; }
                if (c == '\\') {
                    ++i_;
                    if (at_end()) { err_ = syntax("bad quoted pair in local part"); return false; }
                    unsigned char q = static_cast<unsigned char>(s_[i_]);
                    if (q >= 0x80) { if (!eat_utf8()) return false; continue; }
                    if (q < 32 || q > 126) { err_ = syntax("bad quoted pair in local part"); return false; }
                    ++i_;
                    continue;
                }
                if (c >= 0x80) { if (!eat_utf8()) return false; continue; }
                if (c < 32 || c > 126) { err_ = syntax("control character in local part"); return false; }
                ++i_;
            }
        } else {
            bool need_atom = true;
            while (!at_end()) {
                unsigned char c = static_cast<unsigned char>(s_[i_]);
                if (c >= 0x80) { if (!eat_utf8()) return false; need_atom = false; continue; }
                if (is_atext(c)) { ++i_; need_atom = false; continue; }
                if (c == '.') {
                    if (need_atom) { err_ = syntax("empty atom in local part"); return false; }
                    ++i_;
                    need_atom = true;
                    continue;
                }
                break;
            }
            if (need_atom) {
                err_ = syntax(i_ == start ? "missing local part" : "local part ends with a dot");
                return false;
            }
        }
        m.local.assign(s_.substr(start, i_ - start));
        if (m.local.size() > kMaxLocal + (m.quoted ? 2 : 0)) {
            err_ = AddressError{553, "5.1.3", "local part longer than 64 octets"};
            return false;
        }
        return true;
    }

    bool domain(std::string& out) {
        std::size_t start = i_;
        while (true) {
            // sub-domain = Let-dig [Ldh-str]  (or a U-label with SMTPUTF8)
            std::size_t label_start = i_;
            char last = '\0';
            while (!at_end()) {
                unsigned char c = static_cast<unsigned char>(s_[i_]);
                if (c >= 0x80) {
                    if (!eat_utf8()) return false;
                    last = 'a';
                    continue;
                }
                if (is_letdig(c) || (c == '-' && i_ != label_start)) {
                    last = static_cast<char>(c);
                    ++i_;
                    continue;
                }
                break;
            }
            if (i_ == label_start) {
                err_ = syntax(i_ == start ? "missing domain" : "empty label in domain (trailing or double dot)");
                return false;
            }
            if (last == '-') { err_ = syntax("domain label ends with a hyphen"); return false; }
            if (i_ - label_start > 63) { err_ = syntax("domain label longer than 63 octets"); return false; }
            if (!eat('.')) break;
        }
        out.assign(s_.substr(start, i_ - start));
        if (out.size() > kMaxDomain) { err_ = syntax("domain longer than 255 octets"); return false; }
        return true;
    }

    bool address_literal(std::string& out) {
        std::size_t start = i_;
        ++i_;  // '['
        std::size_t close = s_.find(']', i_);
        if (close == std::string_view::npos) { err_ = syntax("unterminated address literal"); return false; }
        std::string content(s_.substr(i_, close - i_));
        i_ = close + 1;
        unsigned char buf[16];
        if (content.size() > 5 && strncasecmp(content.c_str(), "IPv6:", 5) == 0) {
            if (inet_pton(AF_INET6, content.c_str() + 5, buf) != 1) {
                err_ = syntax("bad IPv6 address literal");
                return false;
            }
        } else if (content.find(':') != std::string::npos) {
            err_ = AddressError{553, "5.1.3", "general address literals are not accepted"};
            return false;
        } else {
            // Strict dotted quad: inet_pton rejects leading zeros and short forms.
            if (inet_pton(AF_INET, content.c_str(), buf) != 1) {
                err_ = syntax("bad IPv4 address literal");
                return false;
            }
        }
        out.assign(s_.substr(start, i_ - start));
        return true;
    }

    bool mailbox(Mailbox& m) {
        if (!local_part(m)) return false;
        if (!eat('@')) {
            err_ = syntax(at_end() || peek() == '>' ? "address has no domain" : "bad character in local part");
            return false;
        }
        if (peek() == '[') {
            m.literal = true;
            return address_literal(m.domain);
        }
        return domain(m.domain);
    }

    // [ A-d-l ":" ] : "@d1,@d2:" — parsed and dropped.
    bool source_route(bool& had) {
        if (peek() != '@') return true;
        had = true;
        while (true) {
            if (!eat('@')) { err_ = syntax("bad source route"); return false; }
            std::string ignored;
            if (peek() == '[') {
                if (!address_literal(ignored)) return false;
            } else if (!domain(ignored)) {
                return false;
            }
            if (eat(',')) continue;
            if (eat(':')) return true;
            err_ = syntax("bad source route");
            return false;
        }
    }

    AddressError err_{};

private:
    std::string_view s_;
    bool utf8_;
    std::size_t i_ = 0;
};

}  // namespace

std::string Mailbox::domain_key() const {
    std::string out = domain;
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string Mailbox::local_unquoted() const {
    if (!quoted) return local;
    std::string out;
    for (std::size_t i = 1; i + 1 < local.size(); ++i) {
        if (local[i] == '\\' && i + 2 < local.size()) ++i;
        out += local[i];
    }
    return out;
}

std::string Mailbox::key() const {
    std::string local = local_unquoted();
    return domain.empty() ? local : local + "@" + domain_key();
}

std::optional<Mailbox> parse_mailbox(std::string_view text, bool smtputf8) {
    std::string bracketed = "<" + std::string(text) + ">";
    std::size_t used = 0;
    PathResult r = parse_path(bracketed, PathKind::Forward, smtputf8, &used);
    const Path* p = std::get_if<Path>(&r);
    if (!p || used != bracketed.size() || p->source_route) return std::nullopt;
    return p->mailbox;
}

PathResult parse_path(std::string_view text, PathKind kind, bool smtputf8, std::size_t* consumed) {
    Parser p(text, smtputf8);
    if (!p.eat('<')) return syntax("address must be enclosed in <>");
    Path path;
    if (p.eat('>')) {
        if (kind == PathKind::Forward) return syntax("empty recipient address");
        path.null = true;
        if (consumed) *consumed = p.pos();
        return path;
    }
    if (kind == PathKind::Forward) {
        // "<Postmaster>" without a domain, RFC 5321 §4.5.1.
        constexpr std::string_view pm = "postmaster>";
        if (text.size() >= 1 + pm.size() && strncasecmp(text.data() + 1, pm.data(), pm.size()) == 0) {
            path.mailbox.local.assign(text.substr(1, 10));
            if (consumed) *consumed = 1 + pm.size();
            return path;
        }
    }
    if (!p.source_route(path.source_route)) return p.err_;
    if (!p.mailbox(path.mailbox)) return p.err_;
    if (!p.eat('>')) {
        if (p.at_end()) return syntax("address must be enclosed in <>");
        return syntax("unexpected character in address");
    }
    if (p.pos() > kMaxPath + 2) return AddressError{553, "5.1.3", "path longer than 256 octets"};
    if (consumed) *consumed = p.pos();
    return path;
}

bool valid_helo_argument(std::string_view s) {
    if (s.empty() || s.size() > kMaxDomain) return false;
    if (s.front() == '[') {
        Parser p(s, false);
        std::string ignored;
        return p.address_literal(ignored) && p.at_end();
    }
    if (s.back() == '.') s.remove_suffix(1);
    std::size_t label = 0;
    for (std::size_t i = 0; i <= s.size(); ++i) {
        if (i == s.size() || s[i] == '.') {
            if (label == 0 || label > 63) return false;
            label = 0;
            continue;
        }
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (!is_letdig(c) && c != '-' && c != '_') return false;
        ++label;
    }
    return true;
}

bool valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        std::size_t n = utf8_seq(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

}  // namespace rampart::smtp
