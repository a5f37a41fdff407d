// queue/spool_format.hpp — the on-disk form of one spooled message. Pure.
// Version 2 ("rampart-spool 2"): every text field (id, listener, client, helo, tls,
// sender, envid, a recipient's ORCPT, alias and address, a failure's status, remote and
// diagnostic) is a token: bytes below 0x20, DEL and '%' as %HH, "" as "-", "-" as "%2D".
// So no byte a client or peer sends can end a record or split its TAB-separated fields
// (issue 14 #11: a TAB in ORCPT once moved text into the address). Version 1 files
// (0.1: raw fields) are still read; their rcpt records take the address from the last
// field, and a "failed" record's texts are raw.
// A file is complete only if its "end" record follows exactly `size` message bytes; a
// file without it is crash debris. Records appended later (one line each; the last of a
// kind wins; a torn last line is ignored):
//   done N                                   recipient N delivered
//   failed2<TAB>N<TAB>code<TAB>status<TAB>remote<TAB>diagnostic
//                                            recipient N finally failed (never retried);
//                                            texts are tokens ("failed": 0.1's raw form)
//   notified N                               the failure DSN for recipient N is committed
//                                            (or deliberately not sent: null sender, NOTIFY)
//   attempt COUNT NEXT                       COUNT attempts so far; next one at NEXT (unix ms)
//   warned                                   the delay notice was sent
//   hold | release                           administrative hold
//   quarantine REASON | quarantine-release   a filter agent quarantined the message
//                                            (written with the message, in the same flush)
//   principal P                              who the client was (Envelope::principal);
//                                            written by commit() right after the end
//                                            record, so versions that do not know it
//                                            ignore it and files without it still load
// A message is finished when every recipient is delivered or failed-and-notified.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "queue/envelope.hpp"

namespace rampart::queue {

// Header text (up to and including the blank line). The message and end record follow.
std::string encode_header(const Envelope& env);
inline constexpr std::string_view kEndRecord = "end\n";
std::string encode_done(std::size_t recipient_index);
// `r` is the final result; its texts are stored exactly (as tokens).
std::string encode_failed(std::size_t recipient_index, const AttemptResult& r);
std::string encode_notified(std::size_t recipient_index);
std::string encode_attempt(std::uint32_t attempts, std::int64_t next_attempt);
// "" when env.principal is empty.
std::string encode_principal(const Envelope& env);
inline constexpr std::string_view kWarnedRecord = "warned\n";
inline constexpr std::string_view kHoldRecord = "hold\n";
inline constexpr std::string_view kReleaseRecord = "release\n";
// Quarantine: the message is held with a reason; released with kQuarantineReleaseRecord.
std::string encode_quarantine(std::string_view reason);
inline constexpr std::string_view kQuarantineReleaseRecord = "quarantine-release\nrelease\n";

// True when nothing is left to do for the message (it may be removed from the spool).
bool finished(const Envelope& env);

struct ParsedSpoolFile {
    Envelope envelope;            // recipients[i].done set from the done records
    std::size_t message_offset = 0;
};

// nullopt if the file is incomplete or malformed.
std::optional<ParsedSpoolFile> parse_spool_file(std::string_view content);

}  // namespace rampart::queue
