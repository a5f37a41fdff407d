// filter/milter_protocol.hpp — the libmilter wire protocol, version 6, MTA side (pure codec;
// fuzzed by tests/fuzz/milter_reply_fuzz.cpp). Every packet is a 4-byte big-endian length
// (counting the command byte), one command byte and the command's data; strings inside are
// NUL-terminated.
// Trusts nothing a milter sends: a length of 0 or over kMaxPacket, an unknown reply
// command, a missing NUL, trailing bytes, a header name that is not a field name or a
// header value with a bare CR or a line that does not start with white space (a fold) is
// an Error, never a crash. Promises: a parsed ReplyCode is a valid smtp::Reply (4xx or 5xx,
// printable text of at most kMaxReplyText characters); header names and values it returns
// can be written into a message as they are (values' folds become CRLF + white space).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "smtp/reply.hpp"
#include "util/result.hpp"

namespace rampart::filter::milter {

inline constexpr std::uint32_t kVersion = 6;
// The largest packet accepted from a milter (libmilter's own default limit is 64 KiB for
// body chunks; replacement bodies come in chunks too).
inline constexpr std::size_t kMaxPacket = 1024 * 1024;
// The largest body chunk sent (SMFIC_BODY), as libmilter's MILTER_CHUNK_SIZE.
inline constexpr std::size_t kBodyChunk = 65535;
inline constexpr std::size_t kMaxReplyText = 200;

// Commands (MTA → milter).
enum class Command : char {
    Abort = 'A', Body = 'B', Connect = 'C', Macro = 'D', EndOfBody = 'E', Helo = 'H',
    QuitNewConnection = 'K', Header = 'L', Mail = 'M', EndOfHeaders = 'N', OptNeg = 'O',
    Quit = 'Q', Rcpt = 'R', Data = 'T', Unknown = 'U',
};

// Actions the MTA allows (SMFIF_*).
inline constexpr std::uint32_t kAddHeaders = 0x01, kChangeBody = 0x02, kAddRcpt = 0x04, kDelRcpt = 0x08,
                               kChangeHeaders = 0x10, kQuarantine = 0x20, kChangeFrom = 0x40,
                               kAddRcptPar = 0x80, kSetSymList = 0x100;
// Protocol steps (SMFIP_*): NO* = the milter does not want the event; NR_* = it wants the
// event but sends no reply to it.
inline constexpr std::uint32_t kNoConnect = 0x01, kNoHelo = 0x02, kNoMail = 0x04, kNoRcpt = 0x08, kNoBody = 0x10,
                               kNoHeaders = 0x20, kNoEoh = 0x40, kNrHeader = 0x80, kNoUnknown = 0x100,
                               kNoData = 0x200, kSkip = 0x400, kRcptRej = 0x800, kNrConnect = 0x1000,
                               kNrHelo = 0x2000, kNrMail = 0x4000, kNrRcpt = 0x8000, kNrData = 0x10000,
                               kNrUnknown = 0x20000, kNrEoh = 0x40000, kNrBody = 0x80000,
                               kHeaderLeadingSpace = 0x100000;

// What rampart offers in its OPTNEG: every action (a sender change is applied, a symbol list
// accepted and ignored, see milter.hpp), every step a milter may leave out or not answer,
// SKIP and leading-space headers; not RCPT_REJ (rejected recipients are not sent) nor
// the larger-packet options.
inline constexpr std::uint32_t kOfferedActions = 0x1ff;
inline constexpr std::uint32_t kOfferedProtocol = 0x7ff | 0xff000 | kHeaderLeadingSpace;

// ---- building packets ----
std::string packet(Command cmd, std::string_view data = {});
std::string optneg_packet(std::uint32_t version = kVersion, std::uint32_t actions = kOfferedActions,
                          std::uint32_t protocol = kOfferedProtocol);
// family: '4' or '6' (with port and address), 'U' unknown (no port nor address).
std::string connect_packet(std::string_view hostname, char family, std::uint16_t port, std::string_view address);
// Macros for the command `for_cmd`: name/value pairs ("j", "{auth_authen}").
std::string macro_packet(Command for_cmd, const std::vector<std::pair<std::string, std::string>>& macros);
std::string helo_packet(std::string_view helo);
// args[0] is the address in angle brackets, "<a@b>"; more ESMTP parameters may follow.
std::string mail_packet(const std::vector<std::string>& args);
std::string rcpt_packet(const std::vector<std::string>& args);
std::string header_packet(std::string_view name, std::string_view value);
std::string body_packet(std::string_view chunk);   // chunk.size() <= kBodyChunk

// ---- reading replies ----
// The length of the packet that follows a 4-byte prefix; an Error for 0 or over kMaxPacket.
Result<std::size_t> packet_length(std::string_view four_bytes);

struct Reply {
    enum class Kind {
        OptNeg, Accept, Continue, Discard, Reject, Tempfail, ReplyCode, Skip, Progress, Shutdown, ConnFail,
        AddHeader, InsertHeader, ChangeHeader, AddRcpt, DelRcpt, ReplaceBody, Quarantine, ChangeFrom, SetSymList,
    };
    Kind kind = Kind::Continue;
    std::uint32_t version = 0, actions = 0, protocol = 0;   // OptNeg
    std::uint32_t index = 0;   // InsertHeader (0 = first), ChangeHeader (1 = first of that name)
    std::string name;          // header name
    std::string value;         // header value as sent (folds "\n" + WSP); ChangeHeader: empty = delete
    std::string text;          // AddRcpt/DelRcpt/ChangeFrom: the address; Quarantine: the reason;
                               // ReplaceBody: the chunk
    smtp::Reply reply;         // ReplyCode
    bool is_final() const;     // ends the reply to a command (Accept … ReplyCode, Skip)
    bool is_modification() const;   // end of message only
};

// `pkt` is the command byte and its data (what follows the length).
Result<Reply> parse_reply(std::string_view pkt);
std::string_view kind_name(Reply::Kind k);

// A header from a milter as it goes into a message (no CRLF at the end): "\n" folds
// become CRLF; "Name: value", or "Name:value" when the value starts with white space
// (as a milter sends it under SMFIP_HDR_LEADSPC).
std::string header_line(std::string_view name, std::string_view value);

// ---- the message as a milter sees it, and as it edits it ----
struct HeaderField {
    std::string name;    // as written; a line without a colon is all name
    std::string value;   // after the colon, leading white space kept; folds as "\n" + WSP, no CR
};
// The header fields of `message` (CRLF or LF lines, up to the first empty line);
// `body_offset` receives where the body starts (message.size() if there is none).
std::vector<HeaderField> header_fields(std::string_view message, std::size_t& body_offset);
// The body as sent to a milter: CRLF line ends.
std::string crlf_body(std::string_view body);

// `message` with a milter's header and body modifications applied in order, libmilter's
// index semantics: insheader 0 = before the first field (past the end: appended);
// chgheader N = the Nth field of that name (1-based, case-insensitive; 0 counts as 1),
// an empty value removes it, a missing one is appended (unless the value is empty);
// addheader appends; replbody chunks, concatenated, are the new body (line ends made CRLF).
std::string edit_message(std::string_view message, const std::vector<Reply>& mods);

}  // namespace rampart::filter::milter
