// filter/rspamd_reply.hpp — rspamd's /checkv2 JSON answer, parsed (pure), and the rule that
// maps it to a spam confidence level (SCL 0..9, DESIGN.md §11 [content_filter]).
// Trusts nothing in the bytes: the body must be one JSON object of at most kRspamdMaxReply
// bytes with a number "score", a positive number "required_score" and a string "action";
// anything else (truncated, not JSON, wrong types) is an Error, never a guess.
// Promises: `action` and symbol names are printable ASCII (others dropped), bounded in
// length and count, safe for a log line and an SMTP reply.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::filter {

// The most a reply body may take; rspamd's answers with every symbol are a few KiB.
inline constexpr std::size_t kRspamdMaxReply = 1024 * 1024;

struct RspamdReply {
    enum class Kind { Ok, Error };
    Kind kind = Kind::Error;
    double score = 0;
    double required_score = 0;           // rspamd's reject threshold (its "required_score")
    std::string action;                  // "no action", "greylist", "add header", "rewrite subject", "soft reject", "reject"
    std::vector<std::string> symbols;    // names of the rules that hit, at most kMaxSymbols, sorted
    bool gtube = false;                  // the GTUBE test pattern was found (symbol "GTUBE")
    std::string error;                   // Error: why the reply is unusable
    static constexpr std::size_t kMaxSymbols = 200;
};

RspamdReply parse_rspamd_reply(std::string_view body);

// The SCL rule (docs/filters.md "Content filter"):
//   rspamd's action "reject", or the GTUBE symbol        → 9
//   otherwise floor(9 × score / required_score), clamped to 0..8
// so rspamd's own reject threshold is where SCL 9 starts, and a negative score is 0.
int scl_of(const RspamdReply& reply);

}  // namespace rampart::filter
