// Fuzz target: the DMARC record parser, the From-field address reader and the evaluation
// with the input as both the message and the TXT answer. Never a crash; pct= stays 0..100.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "senderauth/dmarc.hpp"

using namespace rampart::senderauth;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto rec = dmarc::parse_record(in);
    if (rec && rec->pct > 100) std::abort();
    if (!rec && rec.error().message.empty()) std::abort();
    if (dmarc::from_domains(in).size() > 64) std::abort();

    static const PublicSuffixList psl = PublicSuffixList::parse("com\nuk\nco.uk\n*.ck\n!www.ck\n");
    (void)psl.organizational_domain(in);
    dmarc::Request req = dmarc::request(in, psl);
    if (req.names.size() > 2) std::abort();
    std::string txt(in);
    dmarc::TxtAnswer answer{dmarc::TxtAnswer::Kind::Records, {txt}};
    dmarc::TxtAnswer answers[2] = {answer, answer};
    dkim::DkimOutcome pass;
    pass.result = dkim::DkimResult::Pass;
    pass.domain = req.from_domain;
    auto o = dmarc::evaluate(req, answers, {std::string(in.substr(0, 64)), true}, {&pass, 1}, psl, 50);
    if (o.result == dmarc::DmarcResult::Pass && o.disposition != dmarc::Policy::None) std::abort();
    return 0;
}
