// Fuzz target: the SPF record parser and macro expander (senderauth/spf_record). Any TXT
// string yields a record or a ParseError with a message, never a crash; every parsed
// domain-spec expands (or fails cleanly) and an expanded domain-spec is at most 253
// characters (RFC 7208 §7.3).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "senderauth/spf_record.hpp"

using namespace rampart::senderauth;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    (void)is_spf_record(in);
    auto r = parse_spf_record(in);
    if (!r) {
        if (r.error().message.empty()) std::abort();
        return 0;
    }
    MacroContext ctx;
    ctx.sender = "strong-bad@email.example.com";
    ctx.local_part = "strong-bad";
    ctx.sender_domain = "email.example.com";
    ctx.domain = "email.example.com";
    ctx.ip = *rampart::net::IpAddress::parse("2001:db8::cb01");
    ctx.helo = "mx.example.org";
    auto check = [&](const std::string& spec) {
        if (spec.empty()) return;
        auto e = expand_macros(spec, ctx, false, true);
        if (e && e->size() > 253) std::abort();
        (void)expand_macros(spec, ctx, true, false);
        (void)uses_ptr_macro(spec);
    };
    for (const Mechanism& m : r->mechanisms) {
        check(m.domain_spec);
        if (m.cidr4 > 32 || m.cidr6 > 128) std::abort();
    }
    if (r->redirect) check(*r->redirect);
    if (r->exp) check(*r->exp);
    return 0;
}
