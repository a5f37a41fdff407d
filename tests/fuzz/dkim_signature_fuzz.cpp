// Fuzz target: the DKIM-Signature and key record parsers, and the verifier's message walk
// (header split, field selection, canonicalisation, body hash with l=) with a fixed Ed25519
// key. Any input yields a parse or a permerror reason, never a crash; a parsed signature
// always names From in h= and an i= inside d=.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "senderauth/dkim.hpp"

using namespace rampart::senderauth;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto sig = parse_dkim_signature(in);
    if (sig) {
        bool from = false;
        for (const auto& h : sig->signed_headers) from = from || h == "from";
        if (!from || sig->signed_headers.size() > kMaxSignedHeaders) std::abort();
        if (!sig->identity_domain.ends_with(sig->domain)) std::abort();
        std::string stripped = strip_b_value(in);
        if (stripped.size() > in.size()) std::abort();
    } else if (sig.error().message.empty()) {
        std::abort();
    }
    auto key = parse_dkim_key(in);
    if (!key && key.error().message.empty()) std::abort();
    (void)dkim::canonicalize_body(in, Canon::Relaxed);
    (void)dkim::canonicalize_header(in, Canon::Relaxed);

    // The input as a whole message: at most 5 signatures, each verified with a fixed key.
    static const dkim::KeyAnswer ed{dkim::KeyAnswer::Kind::Records,
                                    {"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="}, ""};
    auto pending = dkim::signatures(in);
    if (pending.size() > 5) std::abort();
    for (const auto& p : pending) {
        auto o = dkim::verify(in, p, ed, 1700000000);
        if (o.result == dkim::DkimResult::None) std::abort();
        if (o.result != dkim::DkimResult::Pass && o.reason.empty()) std::abort();
    }
    return 0;
}
