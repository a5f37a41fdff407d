// senderauth/dmarc.hpp — DMARC (RFC 7489): the record parser, the From domain, policy
// discovery and the evaluation of SPF and DKIM results against the published policy.
// Trust: the message, the DNS answers and the SPF/DKIM results' domains are hostile text;
// the Public Suffix List is trusted data. Pure: the caller does the DNS (with its deadline)
// and rolls the pct= dice; every parse is one pass with capped sizes.
//
// How the filter agent calls it (the list is loaded once when the agent is built:
// `auto psl = PublicSuffixList::load(path)`, a failure is a startup error naming the file):
//   dmarc::Request req = dmarc::request(view.message, psl);
//   if (req.done) → report req.outcome (no From / several From domains → permerror)
//   std::vector<dmarc::TxtAnswer> answers;
//   for (const std::string& name : req.names) {         // "_dmarc.<from>", then "_dmarc.<org>"
//       answers.push_back(<TXT lookup of name>);
//       if (!dmarc::keep_looking(answers.back())) break;  // a record, a temp failure: stop
//   }
//   dmarc::Outcome o = dmarc::evaluate(req, answers, spf, dkim_outcomes, psl, roll_0_to_99);
//   A-R (RFC 7489 §11.2): "dmarc=<result_name(o.result)> (p=<policy_name(o.published)>
//   dis=<policy_name(o.disposition)>) header.from=<o.from_domain>"; o.disposition is what to
//   do (the agent maps None/Quarantine/Reject to its configured actions); o.reason is the log.
//   SPF input: the SPF result for MAIL FROM (or HELO for a null sender); DKIM input: every
//   dkim::verify outcome of the message (only Pass outcomes count).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "senderauth/dkim.hpp"
#include "senderauth/public_suffix.hpp"
#include "util/result.hpp"

namespace rampart::senderauth::dmarc {

enum class Policy { None, Quarantine, Reject };
std::string_view policy_name(Policy p);    // "none", "quarantine", "reject"

struct Record {
    Policy p = Policy::None;
    std::optional<Policy> sp;                // absent: p applies to subdomains
    unsigned pct = 100;
    bool adkim_strict = false;
    bool aspf_strict = false;
    std::vector<std::string> rua, ruf;       // as written (reports are not sent by rampart)
    std::string fo = "0";
    std::vector<std::string> warnings;       // optional tags with bad values, defaults used
};

inline constexpr std::size_t kMaxRecord = 4096;

// Parses one TXT record. Error: not a DMARC record or unusable (v=DMARC1 not first, p=
// missing or bad without a rua= to fall back to p=none, RFC 7489 §6.3).
Result<Record> parse_record(std::string_view txt);

// True if a TXT string claims to be a DMARC record (starts with "v=DMARC1").
bool is_dmarc_record(std::string_view txt);

enum class DmarcResult { None, Pass, Fail, TempError, PermError };
std::string_view result_name(DmarcResult r);   // RFC 7489 §11.2 / RFC 8601: "pass", "fail", ...

struct Outcome {
    DmarcResult result = DmarcResult::None;
    Policy disposition = Policy::None;   // what the receiver should do (after pct= sampling)
    Policy published = Policy::None;     // p= or sp=, before sampling
    std::string reason;
    std::string from_domain;
    bool sampled_out = false;            // pct= < 100 and this message fell outside it
};

struct Request {
    bool done = false;                   // true: `outcome` is final, no DNS needed
    Outcome outcome;
    std::string from_domain;             // lower-case
    std::string org_domain;
    std::vector<std::string> names;      // TXT names to query, in order (1 or 2)
};

// Step 1: the RFC5322.From domain (exactly one From field; its addresses all in one domain)
// and the names to query (RFC 7489 §6.6.1, §6.6.3).
Request request(std::string_view message, const PublicSuffixList& psl);

struct TxtAnswer {
    enum class Kind { Records, NoRecord, TempFailure } kind = Kind::NoRecord;
    std::vector<std::string> records;    // TXT records, strings joined
};

// After answer i to names[i]: whether to query the next name.
bool keep_looking(const TxtAnswer& answer);

// The SPF-authenticated identifier: the MAIL FROM domain (the HELO name for a null sender,
// RFC 7208 §2.4) and whether SPF passed for it.
struct SpfIdentity {
    std::string domain;
    bool pass = false;
};

// Step 2. `answers[i]` answers `req.names[i]` (fewer answers than names is fine when
// keep_looking said stop). `roll`: a uniform random number 0..99 for pct= (RFC 7489 §6.6.4).
Outcome evaluate(const Request& req, std::span<const TxtAnswer> answers, const SpfIdentity& spf,
                 std::span<const dkim::DkimOutcome> dkim, const PublicSuffixList& psl, unsigned roll);

// The From domains of a From field value (addresses in a mailbox-list or group), lower-case;
// empty entries for addresses without a usable domain. At most 64.
std::vector<std::string> from_domains(std::string_view from_value);

}  // namespace rampart::senderauth::dmarc
