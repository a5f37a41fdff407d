// senderauth/dkim.cpp — DKIM canonicalisation, hashing and signature verification.
// Trust: hostile message, signature and key; OpenSSL 3 EVP does the public-key work on keys
// whose size we checked first. Results for what is wrong with a signature or key (syntax,
// rsa-sha1, short or oversized key, revoked key, key type not matching a=, expired x=) are
// permerror (RFC 6376 §6.1 PERMFAIL); a body hash or signature that does not match is fail.
#include "senderauth/dkim.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>

#include "mime/header.hpp"

namespace rampart::senderauth::dkim {

namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// The header block (with its last line end) and the body (after the empty line).
struct Split {
    std::string_view header;
    std::string_view body;
};

Split split_message(std::string_view message) {
    std::size_t pos = 0;
    while (pos < message.size()) {
        std::size_t nl = message.find('\n', pos);
        if (nl == std::string_view::npos) break;
        std::string_view line = message.substr(pos, nl - pos);
        if (line.empty() || line == "\r") return {message.substr(0, pos), message.substr(nl + 1)};
        pos = nl + 1;
    }
    return {message, {}};
}

// Bare LF becomes CRLF; CRLF stays.
std::string crlf_normalized(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 8);
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) out += '\r';
        out += s[i];
    }
    return out;
}

// RFC 6376 §3.4.3/§3.4.4, streaming: lines go in, canonical bytes go to `emit`.
template <class Emit>
class BodyCanonicalizer {
public:
    BodyCanonicalizer(Canon canon, Emit emit) : canon_(canon), emit_(std::move(emit)) {}

    void line(std::string_view l) {
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        if (canon_ == Canon::Relaxed) {
            scratch_.clear();
            bool space = false;
            for (char c : l) {
                if (is_wsp(c)) { space = true; continue; }
                if (space) scratch_ += ' ';
                space = false;
                scratch_ += c;
            }
            l = scratch_;   // trailing whitespace dropped
        }
        if (l.empty()) { ++empty_lines_; return; }
        for (; empty_lines_ > 0; --empty_lines_) emit_(std::string_view("\r\n"));
        emit_(l);
        emit_(std::string_view("\r\n"));
        any_ = true;
    }

    void finish() {
        if (!any_ && canon_ == Canon::Simple) emit_(std::string_view("\r\n"));   // §3.4.3: empty body is CRLF
    }

    void run(std::string_view body) {
        std::size_t pos = 0;
        while (pos < body.size()) {
            std::size_t nl = body.find('\n', pos);
            if (nl == std::string_view::npos) { line(body.substr(pos)); break; }
            line(body.substr(pos, nl - pos));
            pos = nl + 1;
        }
        finish();
    }

private:
    Canon canon_;
    Emit emit_;
    std::size_t empty_lines_ = 0;
    bool any_ = false;
    std::string scratch_;
};

struct MdCtxFree { void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); } };
struct PkeyFree { void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); } };
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string sha256(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) return {};
    return std::string(reinterpret_cast<char*>(md), len);
}

DkimOutcome base_outcome(const DkimSignature& sig) {
    DkimOutcome o;
    o.domain = sig.domain;
    o.selector = sig.selector;
    o.identity = sig.identity;
    o.algorithm = std::string(algorithm_name(sig.algorithm));
    o.header_b = sig.b_text.substr(0, 8);
    return o;
}

DkimOutcome with(DkimOutcome o, DkimResult r, std::string reason) {
    o.result = r;
    o.reason = std::move(reason);
    return o;
}

}  // namespace

std::string_view result_name(DkimResult r) {
    switch (r) {
    case DkimResult::None: return "none";
    case DkimResult::Pass: return "pass";
    case DkimResult::Fail: return "fail";
    case DkimResult::Neutral: return "neutral";
    case DkimResult::Policy: return "policy";
    case DkimResult::TempError: return "temperror";
    case DkimResult::PermError: return "permerror";
    }
    return "none";
}

std::string canonicalize_body(std::string_view body, Canon canon) {
    std::string out;
    BodyCanonicalizer c(canon, [&out](std::string_view s) { out += s; });
    c.run(body);
    return out;
}

std::string canonicalize_header(std::string_view field, Canon canon) {
    if (canon == Canon::Simple) {
        std::string out = crlf_normalized(field);
        if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
        return out;
    }
    std::size_t colon = field.find(':');
    if (colon == std::string_view::npos) return {};
    std::string_view name = field.substr(0, colon);
    while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
    std::string out;
    out.reserve(field.size());
    for (char c : name) out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    out += ':';
    bool space = false, started = false;
    for (char c : field.substr(colon + 1)) {
        if (c == '\r' || c == '\n') continue;   // unfold
        if (is_wsp(c)) { space = true; continue; }
        if (space && started) out += ' ';
        space = false;
        started = true;
        out += c;
    }
    out += "\r\n";
    return out;
}

std::vector<PendingSignature> signatures(std::string_view message, const Limits& limits) {
    std::vector<PendingSignature> out;
    Split split = split_message(message);
    auto fields = mime::header_fields(split.header, limits.max_header_fields);
    for (std::size_t i = 0; i < fields.size() && out.size() < limits.max_signatures; ++i) {
        if (!mime::iequals(fields[i].name, "DKIM-Signature")) continue;
        PendingSignature p;
        p.field_index = i;
        auto sig = parse_dkim_signature(fields[i].raw_value);
        if (sig) {
            p.signature = std::move(*sig);
        } else {
            p.done = true;
            p.outcome.result = DkimResult::PermError;
            p.outcome.reason = sig.error().message;
        }
        out.push_back(std::move(p));
    }
    return out;
}

DkimOutcome verify(std::string_view message, const PendingSignature& pending, const KeyAnswer& answer,
                   std::uint64_t now, const Limits& limits) {
    // A failed parse or verify leaves entries in this thread's OpenSSL error queue, where a
    // later SSL_get_error() on the same thread would find them: leave it empty.
    struct ClearErrors { ~ClearErrors() { ERR_clear_error(); } } clear_errors;
    if (pending.done || !pending.signature) return pending.outcome;
    const DkimSignature& sig = *pending.signature;
    DkimOutcome o = base_outcome(sig);

    if (sig.algorithm == DkimAlgorithm::RsaSha1)
        return with(o, DkimResult::PermError, "rsa-sha1 is not accepted (RFC 8301)");
    if (sig.expiration && now > *sig.expiration) return with(o, DkimResult::PermError, "signature expired");

    // The key (RFC 6376 §6.1.2).
    if (answer.kind == KeyAnswer::Kind::TempFailure)
        return with(o, DkimResult::TempError, "key lookup failed" + (answer.detail.empty() ? "" : ": " + answer.detail));
    if (answer.kind == KeyAnswer::Kind::NoRecord || answer.records.empty())
        return with(o, DkimResult::PermError, "no key for signature");
    std::optional<DkimKey> key;
    std::string key_error;
    for (const std::string& rec : answer.records) {
        auto k = parse_dkim_key(rec);
        if (k) { key = std::move(*k); break; }
        if (key_error.empty()) key_error = k.error().message;
    }
    if (!key) return with(o, DkimResult::PermError, key_error);
    o.testing = key->testing;
    if (key->public_key.empty()) return with(o, DkimResult::PermError, "key revoked");
    if (!key->hashes.empty() && std::find(key->hashes.begin(), key->hashes.end(), "sha256") == key->hashes.end())
        return with(o, DkimResult::PermError, "key h= does not allow sha256");
    bool rsa = sig.algorithm == DkimAlgorithm::RsaSha256;
    if ((rsa && key->key_type != "rsa") || (!rsa && key->key_type != "ed25519"))
        return with(o, DkimResult::PermError, "key type k=" + key->key_type + " does not match a=" + o.algorithm);
    if (key->strict_identity && sig.identity_domain != sig.domain)
        return with(o, DkimResult::PermError, "key t=s and i= is a subdomain of d=");

    Pkey pkey;
    if (rsa) {
        const unsigned char* p = reinterpret_cast<const unsigned char*>(key->public_key.data());
        pkey.reset(d2i_PUBKEY(nullptr, &p, static_cast<long>(key->public_key.size())));
        if (!pkey) {   // some publish the bare PKCS#1 RSAPublicKey
            p = reinterpret_cast<const unsigned char*>(key->public_key.data());
            pkey.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(key->public_key.size())));
        }
        if (!pkey || EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_RSA)
            return with(o, DkimResult::PermError, "key p= is not an RSA public key");
        int bits = EVP_PKEY_get_bits(pkey.get());
        if (bits < kMinRsaBits) return with(o, DkimResult::PermError, "RSA key shorter than 1024 bits (RFC 8301)");
        if (bits > kMaxRsaBits) return with(o, DkimResult::PermError, "RSA key longer than 8192 bits");
    } else {
        if (key->public_key.size() != 32) return with(o, DkimResult::PermError, "key p= is not an Ed25519 public key");
        pkey.reset(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                               reinterpret_cast<const unsigned char*>(key->public_key.data()), 32));
        if (!pkey) return with(o, DkimResult::PermError, "key p= is not an Ed25519 public key");
    }

    // The body hash (RFC 6376 §3.7), with l=.
    Split split = split_message(message);
    MdCtx md(EVP_MD_CTX_new());
    if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1)
        return with(o, DkimResult::TempError, "digest unavailable");
    std::uint64_t total = 0;
    const std::optional<std::uint64_t> limit = sig.body_length;
    BodyCanonicalizer canon(sig.body_canon, [&](std::string_view s) {
        std::uint64_t take = s.size();
        if (limit) take = total >= *limit ? 0 : std::min<std::uint64_t>(take, *limit - total);
        if (take) EVP_DigestUpdate(md.get(), s.data(), static_cast<std::size_t>(take));
        total += s.size();
    });
    canon.run(split.body);
    if (limit && total < *limit) return with(o, DkimResult::Fail, "l= is longer than the body");
    unsigned char bh[EVP_MAX_MD_SIZE];
    unsigned int bh_len = 0;
    EVP_DigestFinal_ex(md.get(), bh, &bh_len);
    if (sig.body_hash != std::string_view(reinterpret_cast<char*>(bh), bh_len))
        return with(o, DkimResult::Fail, "body hash mismatch");

    // The header hash input (RFC 6376 §3.7, §5.4.2): h= names bottom-up, absent ones null.
    auto fields = mime::header_fields(split.header, limits.max_header_fields);
    if (pending.field_index >= fields.size()) return with(o, DkimResult::PermError, "signature field not found");
    std::vector<bool> used(fields.size(), false);
    std::string data;
    for (const std::string& name : sig.signed_headers) {
        for (std::size_t i = fields.size(); i-- > 0;) {
            if (used[i] || !mime::iequals(fields[i].name, name)) continue;
            used[i] = true;
            data += canonicalize_header(split.header.substr(fields[i].begin, fields[i].end - fields[i].begin),
                                        sig.header_canon);
            break;
        }
    }
    const mime::HeaderField& self = fields[pending.field_index];
    std::size_t value_off = static_cast<std::size_t>(self.raw_value.data() - split.header.data());
    std::string self_text(split.header.substr(self.begin, value_off - self.begin));
    self_text += strip_b_value(self.raw_value);
    std::string canon_self = canonicalize_header(self_text, sig.header_canon);
    if (canon_self.size() >= 2) canon_self.resize(canon_self.size() - 2);   // no final CRLF (§3.7)
    data += canon_self;

    MdCtx vctx(EVP_MD_CTX_new());
    if (!vctx) return with(o, DkimResult::TempError, "verify context unavailable");
    int ok;
    const auto* sigbytes = reinterpret_cast<const unsigned char*>(sig.signature.data());
    if (rsa) {
        if (EVP_DigestVerifyInit(vctx.get(), nullptr, EVP_sha256(), nullptr, pkey.get()) != 1)
            return with(o, DkimResult::TempError, "verify init failed");
        ok = EVP_DigestVerify(vctx.get(), sigbytes, sig.signature.size(),
                              reinterpret_cast<const unsigned char*>(data.data()), data.size());
    } else {   // RFC 8463 §3: Ed25519 signs the SHA-256 of the header data
        std::string h = sha256(data);
        if (EVP_DigestVerifyInit(vctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1)
            return with(o, DkimResult::TempError, "verify init failed");
        ok = EVP_DigestVerify(vctx.get(), sigbytes, sig.signature.size(),
                              reinterpret_cast<const unsigned char*>(h.data()), h.size());
    }
    if (ok != 1) return with(o, DkimResult::Fail, "signature did not verify");
    return with(o, DkimResult::Pass, "");
}

}  // namespace rampart::senderauth::dkim
