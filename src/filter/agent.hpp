// filter/agent.hpp — the filter seam (DESIGN.md §5, STYLE.md §5): an agent is built once
// from the configuration, immutable and shared by every session; per session it starts an
// AgentRun that sees each SMTP event of the session (connect, HELO/EHLO, MAIL, each RCPT,
// end of data) and answers with a closed verdict.
// Contract for agents: never touch the socket or the spool; answer within the chain's
// deadline (awaitable: ask DNS or a daemon, or wait out a tarpit, without blocking an
// I/O thread); a thrown exception or a timeout is turned into 451 4.3.0 by the chain, never
// a crash and never a silent pass.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <asio/awaitable.hpp>

#include "net/cidr.hpp"
#include "policy/principal.hpp"
#include "smtp/address.hpp"
#include "smtp/reply.hpp"

namespace rampart::mime {
struct Structure;
}
namespace rampart::directory {
class Directory;
}

namespace rampart::filter {

enum class Stage { Connect, Helo, MailFrom, RcptTo, EndOfData };
std::string_view stage_name(Stage s);

// Anti-spam agents are skipped for authenticated users and organisation servers;
// hygiene agents (antivirus, attachment filtering) never are (DESIGN.md §11), and neither
// are policy agents (transport rules: the organisation's rules apply to all mail).
enum class AgentClass { AntiSpam, Hygiene, Policy };

// Header and body edits an agent asks for at end of data, applied in chain order.
struct Edits {
    std::vector<std::string> add_headers;      // whole fields "X-Name: value" (no CRLF); prepended
    std::vector<std::string> remove_headers;   // field names; every top-level occurrence goes
    std::optional<std::string> replace_message;   // the whole message rewritten (e.g. a part stripped)
    // Envelope edits (redirect, a bcc copy, a milter's addrcpt/delrcpt): addresses as
    // "local@domain" (already checked by the agent: smtp::parse_mailbox accepts them).
    // Removal matches the recipient as the client named it, case-insensitively.
    std::vector<std::string> add_recipients;
    std::vector<std::string> remove_recipients;
    // A new envelope sender (a milter's chgfrom): "local@domain", or "" for the null sender.
    std::optional<std::string> sender;
    bool message_edited() const { return !add_headers.empty() || !remove_headers.empty() || replace_message; }
    bool recipients_edited() const { return !add_recipients.empty() || !remove_recipients.empty(); }
    bool empty() const { return !message_edited() && !recipients_edited() && !sender; }
};

struct AgentVerdict {
    // The whole set: an agent cannot invent another.
    enum class Kind { Continue, Refuse, Tempfail, Quarantine, Discard };
    Kind kind = Kind::Continue;
    smtp::Reply reply{};                  // Refuse (5xx) and Tempfail (4xx): what the client reads
    std::string rule;                     // the config key that decided, e.g. "connection_filter.block"
    std::string reason;                   // log line and explain (no secrets)
    std::chrono::milliseconds delay{0};   // tarpit: wait this long before the verdict takes effect
    Edits edits;                          // end of data only
    // The client is on an allow list (a DNS allow list of the connection filter): the
    // chain skips the anti-spam agents for the rest of the session (never the hygiene
    // agents); `reason` says which list.
    bool allow_listed = false;
    // The spam confidence level the agent judged (the content filter), for the sender's
    // reputation (filter/reputation.hpp); nullopt: none.
    std::optional<int> scl;

    static AgentVerdict proceed(std::string rule = {}, std::string reason = {});
    static AgentVerdict refuse(smtp::Reply reply, std::string rule, std::string reason);   // 4xx → Tempfail
    static AgentVerdict quarantine(std::string rule, std::string reason);
    static AgentVerdict discard(std::string rule, std::string reason);
};
std::string_view verdict_name(AgentVerdict::Kind k);

// What an agent knows of the session.
struct SessionInfo {
    SessionInfo() = default;
    SessionInfo(std::string listener_name, net::IpAddress client_address, bool tls_on, policy::Principal who = {})
        : listener(std::move(listener_name)), client(client_address), tls(tls_on), principal(std::move(who)) {}
    std::string listener;
    net::IpAddress client;
    std::uint16_t client_port = 0;   // the client's TCP port (0: not known, e.g. explain)
    bool tls = false;
    policy::Principal principal;
    // Non-empty: the client is allow-listed (set by the chain from a verdict with
    // allow_listed; the text names the list); anti-spam agents are skipped as for an
    // authenticated principal.
    std::string allow_listed;
    // `rampart explain` without --online: agents that are partly network (the connection
    // filter's DNS lists) decide what they can offline and say what they did not ask.
    bool offline = false;
};

// The event an agent is asked about. Pointers are null where the stage has no such value.
struct MessageView {
    std::string_view helo;                       // Helo and later
    const smtp::Path* sender = nullptr;          // MailFrom and later
    const smtp::Path* rcpt = nullptr;            // RcptTo: the recipient asked about
    std::span<const std::string> recipients;     // EndOfData: accepted recipients
    std::string_view message;                    // EndOfData: the message as it will be stored
    const mime::Structure* mime = nullptr;       // EndOfData: `message` parsed (mime/parser.hpp), once per
                                                 // version of the message; offsets point into `message`
    const directory::Directory* directory = nullptr;   // MailFrom and later: the transaction's directory
                                                       // snapshot (null: no directory to ask)
    // The session as the chain sees it now (set by ChainRun::run): the principal after AUTH,
    // which the SessionInfo given to Agent::start (at connect) does not know yet.
    const SessionInfo* session = nullptr;
};

class AgentRun {
public:
    virtual ~AgentRun() = default;
    virtual asio::awaitable<AgentVerdict> on(Stage stage, const MessageView& view) = 0;
    // The transaction ended (committed, refused or reset): drop per-message state.
    virtual void end_transaction() {}
};

class Agent {
public:
    virtual ~Agent() = default;
    virtual std::string_view name() const = 0;    // as in the config: "connection_filter"
    virtual AgentClass agent_class() const = 0;
    // True if the agent asks the network (DNS, a daemon): `explain` shows it as not
    // evaluated unless --online.
    virtual bool network() const = 0;
    virtual std::chrono::milliseconds timeout() const { return std::chrono::seconds(60); }
    // The events the agent is bound to (DESIGN.md §2 "agent"); it is asked about no other.
    virtual bool bound_to(Stage stage) const = 0;
    // `session` is the ChainRun's own: it outlives the run and shows later changes
    // (set_principal after AUTH, set_tls after STARTTLS).
    virtual std::unique_ptr<AgentRun> start(const SessionInfo& session) const = 0;
};

}  // namespace rampart::filter
