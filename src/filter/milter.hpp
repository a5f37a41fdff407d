// filter/milter.hpp — milters (DESIGN.md §5, §11 [[milters]]): the MTA side of the libmilter
// protocol (version 6, as Postfix speaks it) over TCP or a unix socket, and the agent that
// puts one milter into the filter chain after antivirus.
//
// MilterClient: one conversation (one SMTP session). Trusts nothing the milter sends
// (milter_protocol.hpp parses it); promises an answer within its timeouts — connect and
// option negotiation, each command's reply, the whole message — and never throws: a
// connection refused, a deadline passed, a closed socket, a reply that breaks the
// protocol or a modification the milter did not ask for in the negotiation is an Answer of
// kind Error, and the conversation is then over.
//
// MilterAgent (the agent "milter:NAME"): hygiene class — it runs for authenticated users
// and organisation servers too, as Postfix's smtpd_milters do, so a signing milter
// (OpenDKIM) sees them and signs (it decides by {auth_type} or the client address in its
// InternalHosts). The connection opens at the session's first event and closes with the
// session. Events: connect, HELO, MAIL FROM, each RCPT TO, then at end of data the DATA
// command, the headers, end of headers, the body in 64 KiB chunks and end of message (the
// chain sees the message whole, so they are sent together); a transaction that ends
// before end of message is aborted (SMFIC_ABORT). Macros: j, {daemon_name}, _,
// {client_addr}, {client_name} at connect; i, {mail_addr}, {auth_authen}, {auth_type} at
// MAIL; {rcpt_addr} at RCPT; i at DATA and end of message.
// Replies: reject → 550 5.7.1 (or the milter's reply code and text, sanitised, 200
// characters at most); tempfail → 451 4.7.1; discard → the chain's Discard; accept → the
// milter is not asked again for this message (at connect or HELO: for the session); at
// end of message the modifications become the verdict's edits: added, inserted, changed
// and removed headers and a replaced body are applied here (libmilter's index semantics,
// see milter::edit_message) and handed back as replace_message; addrcpt/delrcpt as
// add_recipients/remove_recipients; quarantine as the Quarantine verdict with the
// milter's reason. A sender change (chgfrom) becomes the envelope sender (Edits::sender; "<>" the null sender).
// on_error: tempfail (451 4.7.1, fail closed) or accept (logged; the milter is skipped for
// the rest of the session).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/generic/stream_protocol.hpp>

#include "config/config.hpp"
#include "filter/agent.hpp"
#include "filter/clamd_reply.hpp"
#include "filter/milter_protocol.hpp"

namespace rampart::filter {

struct MilterAnswer {
    enum class Kind { Continue, Accept, Reject, Tempfail, Discard, Error };
    Kind kind = Kind::Error;
    std::optional<smtp::Reply> reply;            // the milter's own reply code and text (SMFIR_REPLYCODE)
    std::string error;                           // Error: what went wrong (for logs)
    std::vector<milter::Reply> modifications;    // end of message: in the order received
};
std::string_view answer_name(MilterAnswer::Kind k);

// The connection-level facts sent at SMFIC_CONNECT.
struct MilterConnectInfo {
    std::string hostname;                         // the client's name, or "[address]"
    std::string address;                          // numeric, "" for none
    char family = '4';                            // '4', '6' or 'U'
    std::uint16_t port = 0;                       // the client's port
    std::vector<std::pair<std::string, std::string>> macros;
};

struct MilterTimeouts {
    std::chrono::milliseconds connect{std::chrono::seconds(10)};
    std::chrono::milliseconds command{std::chrono::seconds(30)};
    std::chrono::milliseconds content{std::chrono::seconds(300)};
};

using Macros = std::vector<std::pair<std::string, std::string>>;

class MilterClient {
public:
    MilterClient(asio::any_io_executor ex, config::Endpoint address, MilterTimeouts timeouts);
    ~MilterClient();   // a best-effort QUIT, then the socket closes
    MilterClient(const MilterClient&) = delete;
    MilterClient& operator=(const MilterClient&) = delete;

    bool usable() const { return usable_; }
    // Connects, negotiates and sends the connect event.
    asio::awaitable<MilterAnswer> open(const MilterConnectInfo& info);
    asio::awaitable<MilterAnswer> helo(std::string_view helo);
    asio::awaitable<MilterAnswer> mail(std::string_view sender, const Macros& macros);
    asio::awaitable<MilterAnswer> rcpt(std::string_view recipient, const Macros& macros);
    // DATA, the headers, end of headers, the body and end of message, under the content
    // timeout; the answer carries the modifications.
    asio::awaitable<MilterAnswer> message(std::string_view message, const Macros& macros);
    // The transaction ended before end of message: a best-effort SMFIC_ABORT.
    void abort();
    std::uint32_t negotiated_actions() const { return actions_; }

private:
    asio::awaitable<MilterAnswer> timed(asio::awaitable<MilterAnswer> op, std::chrono::milliseconds limit, std::string what);
    asio::awaitable<MilterAnswer> do_open(MilterConnectInfo info);
    asio::awaitable<MilterAnswer> step(std::string packets, bool reply_expected, bool end_of_message);
    asio::awaitable<MilterAnswer> do_message(std::string_view message, Macros macros);
    asio::awaitable<Result<milter::Reply>> read_reply();
    void send_now(const std::string& bytes);   // synchronous, best-effort (abort, quit)
    MilterAnswer failed(std::string error);

    asio::any_io_executor ex_;
    config::Endpoint address_;
    MilterTimeouts timeouts_;
    std::unique_ptr<asio::generic::stream_protocol::socket> socket_;
    bool usable_ = true;
    bool busy_ = false;      // a command is under way (still set: it was interrupted)
    bool skipped_ = false;   // the last reply was SMFIR_SKIP (no more body chunks)
    std::uint32_t actions_ = 0, protocol_ = 0;
};

class MilterAgent final : public Agent {
public:
    MilterAgent(config::MilterSettings settings, std::string hostname);
    std::string_view name() const override { return agent_name_; }
    AgentClass agent_class() const override { return AgentClass::Hygiene; }
    bool network() const override { return true; }
    // Past the milter's own timeouts, so a slow milter is this agent's failure (on_error).
    std::chrono::milliseconds timeout() const override;
    bool bound_to(Stage) const override { return true; }
    std::unique_ptr<AgentRun> start(const SessionInfo& session) const override;

    const config::MilterSettings& settings() const { return settings_; }
    const std::string& hostname() const { return hostname_; }
    MilterTimeouts timeouts() const;

private:
    config::MilterSettings settings_;
    std::string hostname_;
    std::string agent_name_;
};

// The antivirus engine type "milter": the message sent to the milter alone (a synthetic
// envelope: client 127.0.0.1, MAIL FROM:<>, RCPT TO:<postmaster>). reject, discard or
// quarantine (or a 5xx reply code) = Infected, with the milter's text as the signature;
// accept or continue = Clean; tempfail, a 4xx reply and every failure = Error.
asio::awaitable<ClamdReply> milter_scan(const config::Endpoint& address, std::string_view message,
                                        std::chrono::milliseconds timeout);

}  // namespace rampart::filter
