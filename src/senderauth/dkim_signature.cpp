// senderauth/dkim_signature.cpp — tag lists, DKIM-Signature values and DKIM key records.
// Trust: hostile text; one pass per parse, every copy capped (see the header). Pure.
#include "senderauth/dkim_signature.hpp"

#include <algorithm>
#include <charconv>

#include "util/text.hpp"

namespace rampart::senderauth {

namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
    return s;
}

std::string strip_wsp(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s)
        if (!is_wsp(c)) out += c;
    return out;
}

Error perm(std::string reason) { return Error{0, std::move(reason)}; }

// Digits only, at most 20 of them, fitting a uint64 (RFC 6376 caps t=/x= at 12 digits and
// l= at 76; we refuse what does not fit rather than wrap).
std::optional<std::uint64_t> parse_number(std::string_view s) {
    if (s.empty() || s.size() > 20) return std::nullopt;
    for (char c : s)
        if (!is_digit(c)) return std::nullopt;
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

const Tag* find(const std::vector<Tag>& tags, std::string_view name) {
    for (const Tag& t : tags)
        if (t.name == name) return &t;
    return nullptr;
}

// Colon-separated list with FWS around the elements (h=, key h=, s=, t=).
std::vector<std::string> split_colon(std::string_view s, std::size_t cap, bool* too_many) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos <= s.size()) {
        std::size_t c = s.find(':', pos);
        if (c == std::string_view::npos) c = s.size();
        if (out.size() >= cap) {
            if (too_many) *too_many = true;
            break;
        }
        out.push_back(util::ascii_lower(trim(s.substr(pos, c - pos))));
        pos = c + 1;
    }
    return out;
}

}  // namespace

bool valid_domain(std::string_view name) {
    if (name.empty() || name.size() > kMaxDomainLength) return false;
    std::size_t label = 0;
    for (std::size_t i = 0; i <= name.size(); ++i) {
        if (i == name.size() || name[i] == '.') {
            if (label == 0 || label > 63) return false;
            if (name[i - 1] == '-' || name[i - label] == '-') return false;
            label = 0;
            continue;
        }
        char c = name[i];
        if (!(is_alpha(c) || is_digit(c) || c == '-' || c == '_')) return false;
        ++label;
    }
    return true;
}

Result<std::vector<Tag>> parse_tag_list(std::string_view text) {
    std::vector<Tag> tags;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t semi = text.find(';', pos);
        if (semi == std::string_view::npos) semi = text.size();
        std::string_view spec = text.substr(pos, semi - pos);
        std::size_t spec_begin = pos;
        pos = semi + 1;
        if (trim(spec).empty()) {
            if (semi == text.size()) break;   // trailing ";" or only whitespace at the end
            return perm("empty tag-spec");
        }
        std::size_t eq = spec.find('=');
        if (eq == std::string_view::npos) return perm("tag without '='");
        std::string_view name = trim(spec.substr(0, eq));
        if (name.empty() || name.size() > 32 || !is_alpha(name[0])) return perm("bad tag name");
        for (char c : name)
            if (!(is_alpha(c) || is_digit(c) || c == '_')) return perm("bad tag name");
        std::string_view raw = spec.substr(eq + 1);
        std::size_t lead = 0;
        while (lead < raw.size() && is_wsp(raw[lead])) ++lead;
        std::string_view value = trim(raw);
        if (value.size() > kMaxTagValue) return perm("tag " + std::string(name) + "= too long");
        for (char c : value) {
            unsigned char u = static_cast<unsigned char>(c);
            // tval is VALCHAR (%x21-3A / %x3C-7E) separated by FWS: no controls, no 8-bit.
            if (u >= 0x7f || (u < 0x20 && !is_wsp(c))) return perm("bad character in tag " + std::string(name) + "=");
        }
        for (const Tag& t : tags)
            if (t.name == name) return perm("duplicate tag " + std::string(name) + "=");
        if (tags.size() >= kMaxTags) return perm("too many tags");
        std::size_t vb = spec_begin + eq + 1 + lead;
        tags.push_back({name, value, vb, vb + value.size(), spec_begin + eq + 1, semi});
    }
    return tags;
}

std::string_view algorithm_name(DkimAlgorithm a) {
    switch (a) {
    case DkimAlgorithm::RsaSha256: return "rsa-sha256";
    case DkimAlgorithm::Ed25519Sha256: return "ed25519-sha256";
    case DkimAlgorithm::RsaSha1: return "rsa-sha1";
    }
    return "?";
}

std::optional<std::string> decode_base64(std::string_view text) {
    std::string out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    std::size_t chars = 0, pad = 0;
    for (char c : text) {
        if (is_wsp(c)) continue;
        int v;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '+') v = 62;
        else if (c == '/') v = 63;
        else if (c == '=') { ++pad; ++chars; if (pad > 2) return std::nullopt; continue; }
        else return std::nullopt;
        if (pad) return std::nullopt;   // data after padding
        ++chars;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    if (chars % 4 != 0) return std::nullopt;
    return out;
}

Result<DkimSignature> parse_dkim_signature(std::string_view value) {
    if (value.size() > kMaxSignatureField) return perm("signature field too long");
    auto parsed = parse_tag_list(value);
    if (!parsed) return parsed.error();
    const std::vector<Tag>& tags = *parsed;
    for (const char* required : {"v", "a", "b", "bh", "d", "h", "s"})
        if (!find(tags, required)) return perm(std::string("missing tag ") + required + "=");

    DkimSignature sig;
    if (find(tags, "v")->value != "1") return perm("unsupported version v=");

    std::string a = util::ascii_lower(find(tags, "a")->value);
    if (a == "rsa-sha256") sig.algorithm = DkimAlgorithm::RsaSha256;
    else if (a == "ed25519-sha256") sig.algorithm = DkimAlgorithm::Ed25519Sha256;
    else if (a == "rsa-sha1") sig.algorithm = DkimAlgorithm::RsaSha1;
    else return perm("unsupported algorithm a=");

    sig.b_text = strip_wsp(find(tags, "b")->value);
    auto b = decode_base64(sig.b_text);
    if (!b || b->empty()) return perm("bad base64 in b=");
    sig.signature = std::move(*b);
    auto bh = decode_base64(find(tags, "bh")->value);
    if (!bh || bh->empty()) return perm("bad base64 in bh=");
    sig.body_hash = std::move(*bh);

    if (const Tag* c = find(tags, "c")) {
        std::string_view cv = c->value;
        std::size_t slash = cv.find('/');
        std::string_view h = slash == std::string_view::npos ? cv : cv.substr(0, slash);
        std::string_view bdy = slash == std::string_view::npos ? std::string_view("simple") : cv.substr(slash + 1);
        auto canon = [](std::string_view s) -> std::optional<Canon> {
            if (s == "simple") return Canon::Simple;
            if (s == "relaxed") return Canon::Relaxed;
            return std::nullopt;
        };
        auto hc = canon(h), bc = canon(bdy);
        if (!hc || !bc) return perm("unsupported canonicalization c=");
        sig.header_canon = *hc;
        sig.body_canon = *bc;
    }

    sig.domain = util::ascii_lower(find(tags, "d")->value);
    if (!sig.domain.empty() && sig.domain.back() == '.') sig.domain.pop_back();
    if (!valid_domain(sig.domain)) return perm("bad domain d=");

    bool too_many = false;
    sig.signed_headers = split_colon(find(tags, "h")->value, kMaxSignedHeaders, &too_many);
    if (too_many) return perm("too many header names in h=");
    bool has_from = false;
    for (const std::string& n : sig.signed_headers) {
        if (n.empty()) return perm("empty header name in h=");
        for (char ch : n) {
            unsigned char u = static_cast<unsigned char>(ch);
            if (u <= 32 || u >= 127 || ch == ':') return perm("bad header name in h=");
        }
        if (n == "from") has_from = true;
    }
    if (!has_from) return perm("h= does not sign From");

    sig.selector = util::ascii_lower(find(tags, "s")->value);
    if (!valid_domain(sig.selector) || sig.selector.size() + sig.domain.size() + 12 > kMaxDomainLength)
        return perm("bad selector s=");

    if (const Tag* i = find(tags, "i")) {
        sig.identity = std::string(i->value);
        std::size_t at = sig.identity.rfind('@');
        if (at == std::string::npos) return perm("bad identity i=");
        sig.identity_domain = util::ascii_lower(std::string_view(sig.identity).substr(at + 1));
        if (!sig.identity_domain.empty() && sig.identity_domain.back() == '.') sig.identity_domain.pop_back();
        if (!valid_domain(sig.identity_domain)) return perm("bad identity i=");
        const std::string& d = sig.domain;
        const std::string& id = sig.identity_domain;
        bool within = id == d || (id.size() > d.size() && id.ends_with(d) && id[id.size() - d.size() - 1] == '.');
        if (!within) return perm("i= not within d=");
    } else {
        sig.identity = "@" + sig.domain;
        sig.identity_domain = sig.domain;
    }

    if (const Tag* l = find(tags, "l")) {
        sig.body_length = parse_number(l->value);
        if (!sig.body_length) return perm("bad body length l=");
    }
    if (const Tag* q = find(tags, "q")) {
        bool dns = false;
        for (const std::string& m : split_colon(q->value, 16, nullptr))
            if (m == "dns/txt") dns = true;
        if (!dns) return perm("unsupported query method q=");
    }
    if (const Tag* t = find(tags, "t")) {
        sig.timestamp = parse_number(t->value);
        if (!sig.timestamp) return perm("bad timestamp t=");
    }
    if (const Tag* x = find(tags, "x")) {
        sig.expiration = parse_number(x->value);
        if (!sig.expiration) return perm("bad expiration x=");
        if (sig.timestamp && *sig.expiration < *sig.timestamp) return perm("x= before t=");
    }
    return sig;
}

std::string strip_b_value(std::string_view value) {
    auto tags = parse_tag_list(value);
    if (!tags) return std::string(value);
    for (const Tag& t : *tags)
        if (t.name == "b") {
            std::string_view tail = value.substr(t.raw_end);
            if (t.raw_end == value.size()) {   // the last tag: keep the field's line end
                std::string_view after = value.substr(t.value_end);
                tail = after.ends_with("\r\n") ? "\r\n" : after.ends_with("\n") ? "\n" : "";
            }
            return std::string(value.substr(0, t.raw_begin)) + std::string(tail);
        }
    return std::string(value);
}

Result<DkimKey> parse_dkim_key(std::string_view record) {
    if (record.size() > kMaxKeyRecord) return perm("key record too long");
    auto parsed = parse_tag_list(record);
    if (!parsed) return perm("key record: " + parsed.error().message);
    const std::vector<Tag>& tags = *parsed;
    DkimKey key;
    if (const Tag* v = find(tags, "v")) {
        if (&tags.front() != v || v->value != "DKIM1") return perm("key record: bad version v=");
    }
    if (const Tag* k = find(tags, "k")) {
        key.key_type = util::ascii_lower(k->value);
        if (key.key_type != "rsa" && key.key_type != "ed25519") return perm("key record: unknown key type k=");
    }
    const Tag* p = find(tags, "p");
    if (!p) return perm("key record: missing p=");
    auto pk = decode_base64(p->value);
    if (!pk) return perm("key record: bad base64 in p=");
    key.public_key = std::move(*pk);
    if (const Tag* h = find(tags, "h")) {
        key.hashes = split_colon(h->value, 16, nullptr);
    }
    if (const Tag* s = find(tags, "s")) {
        bool email = false;
        for (const std::string& svc : split_colon(s->value, 16, nullptr))
            if (svc == "*" || svc == "email") email = true;
        if (!email) return perm("key record: service type s= excludes email");
    }
    if (const Tag* t = find(tags, "t")) {
        for (const std::string& flag : split_colon(t->value, 16, nullptr)) {
            if (flag == "y") key.testing = true;
            if (flag == "s") key.strict_identity = true;
        }
    }
    return key;
}

}  // namespace rampart::senderauth
