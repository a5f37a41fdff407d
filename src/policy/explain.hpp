// policy/explain.hpp — `rampart explain`: runs the live decision functions with a Trace
// and renders every rule evaluated. Pure: facts and addresses in, text out. The reply
// text printed is the one a live client would read, because it comes from the same
// Decision (DESIGN.md §3, STYLE.md §4).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "policy/access.hpp"
#include "policy/back_pressure.hpp"

namespace rampart::policy {

struct ExplainQuestion {
    SessionFacts facts;
    std::string hostname;                  // server.hostname (in the connection limits' reply)
    std::string mail_from;                 // with or without <>; "" or "<>" is the null sender
    std::optional<std::uint64_t> size;     // MAIL ... SIZE=
    bool smtputf8 = false;                 // MAIL ... SMTPUTF8
    // limits.max_message_size less the Received header this session would add (the
    // session's own message_size_limit(), session/received.hpp).
    std::uint64_t size_limit = std::numeric_limits<std::uint64_t>::max();
    std::vector<std::string> rcpts;
    // Received header fields in the message: checked at the end of data when given.
    std::optional<std::size_t> received_headers;
    // What only a running server knows (asked over its control socket); nullopt: the
    // connection limits, the AUTH lockout and the hourly limits are shown as live-only.
    struct LiveState {
        ConnectionCounts connections;          // open now on the listener / from the client
        std::chrono::milliseconds locked{0};   // AUTH lockout left for the address or the user
        Brakes::Usage usage;                   // the user's messages and recipients this hour
        std::optional<PressureState> pressure; // back pressure (nullopt: an older server did not say)
    };
    config::BackPressureSettings back_pressure;   // [back_pressure]
    std::optional<LiveState> live;
};

// One reply a live client would read, and the rule that decided it (for the golden cases
// that compare explain with a live session).
struct ExplainReply {
    std::string command;                   // "connect", "MAIL", "RCPT <addr>", "DATA"
    smtp::Reply reply;
    std::string rule;
};

struct ExplainAnswer {
    std::string text;                      // the trace, one line per rule
    bool all_accepted = false;             // exit status 0 when true
    std::vector<ExplainReply> replies;     // in session order; stops where the session would
};

// The command lines explain puts to the live parser (smtp::parse_command).
std::string explain_mail_line(const ExplainQuestion& q);
std::string explain_rcpt_line(const std::string& rcpt);

// What a live session asks besides the access rules at the same events: the filter chain
// (filter/explain.hpp implements it with the live ChainRun). Each call appends its trace
// lines to `out` and returns its Decision (Pass: no objection). The live session asks the
// connect stage before the access rules, and the MAIL and RCPT stages after them.
class ExplainStages {
public:
    virtual ~ExplainStages() = default;
    virtual Decision connect(const SessionFacts& f, std::string& out) = 0;
    virtual Decision mail(const SessionFacts& f, const smtp::Path& sender, std::string& out) = 0;
    virtual Decision rcpt(const SessionFacts& f, const smtp::Path& sender, const smtp::Path& rcpt, std::string& out) = 0;
    // End of data, after the hop count, with the accepted recipients ("local@domain"). A
    // Refuse refuses the message. Default: nothing is asked.
    virtual Decision data(const SessionFacts& f, const smtp::Path& sender, const std::vector<std::string>& rcpts,
                          std::string& out) {
        (void)f, (void)sender, (void)rcpts, (void)out;
        return {};
    }
};

ExplainAnswer explain(const ExplainQuestion& q, ExplainStages* stages = nullptr);

}  // namespace rampart::policy
