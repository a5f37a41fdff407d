// filter/sender_auth.hpp — the sender authentication agent (DESIGN.md §5 after the
// recipient filter, §11 [sender_auth]). At the first RCPT TO the earlier agents let through
// (so after the recipient filter, and no DNS work for refused recipients) it evaluates SPF
// (RFC 7208) once per transaction for the client address and the MAIL FROM identity (the
// HELO identity for the null sender), and acts on the result per the spf_* keys, at every
// RCPT of the transaction: 550 5.7.23 for a refused fail/softfail, 550 5.7.24 for a refused
// permerror, 451 4.7.24 for temperror (RFC 7372). At end of data it removes incoming
// Authentication-Results fields that claim this host's authserv-id ([server] hostname),
// prepends its own (RFC 8601), removes any incoming X-Rampart-Sender-Auth and adds that
// header when a result was stamped.
// Trust: the SPF records and the incoming header fields are the sender's (untrusted);
// authenticated users and organisation servers skip this agent (anti-spam), so their
// messages get no Authentication-Results from it. Network: asks DNS, so `rampart explain`
// shows it as not evaluated unless --online.
// DKIM and DMARC (senderauth/dkim*, dmarc*) are not evaluated by this agent yet: the
// header carries spf= only.
#pragma once

#include <memory>

#include "config/config.hpp"
#include "filter/agent.hpp"
#include "senderauth/spf.hpp"

namespace rampart::filter {

class SenderAuth final : public Agent {
public:
    static constexpr std::string_view kStampHeader = "X-Rampart-Sender-Auth";

    // `authserv_id`: this host's name ([server] hostname). `dns`: the look-ups SPF asks.
    SenderAuth(config::SenderAuthSettings settings, std::string authserv_id, std::shared_ptr<senderauth::SpfLookup> dns)
        : settings_(settings), authserv_id_(std::move(authserv_id)), dns_(std::move(dns)) {}
    std::string_view name() const override { return "sender_auth"; }
    AgentClass agent_class() const override { return AgentClass::AntiSpam; }
    bool network() const override { return true; }
    // Above SPF's own 20 s budget (which gives temperror), so the chain's 451 4.3.0 for a
    // timeout is only a backstop.
    std::chrono::milliseconds timeout() const override { return std::chrono::seconds(30); }
    bool bound_to(Stage stage) const override { return stage == Stage::RcptTo || stage == Stage::EndOfData; }
    std::unique_ptr<AgentRun> start(const SessionInfo& session) const override;

    // What the configuration says one SPF outcome gets: Continue (possibly noting a
    // stamp in `stamp`), Refuse or Tempfail.
    AgentVerdict judge(const senderauth::SpfOutcome& spf, bool& stamp) const;

    const std::string& authserv_id() const { return authserv_id_; }
    senderauth::SpfLookup& dns() const { return *dns_; }

private:
    config::SenderAuthSettings settings_;
    std::string authserv_id_;
    std::shared_ptr<senderauth::SpfLookup> dns_;
};

}  // namespace rampart::filter
