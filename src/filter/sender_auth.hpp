// filter/sender_auth.hpp — the sender authentication agent (DESIGN.md §5 after the
// recipient filter, §11 [sender_auth]). At the first RCPT TO the earlier agents let through
// (so after the recipient filter, and no DNS work for refused recipients) it evaluates SPF
// (RFC 7208) once per transaction for the client address and the MAIL FROM identity (the
// HELO identity for the null sender), and acts on the result per the spf_* keys, at every
// RCPT of the transaction: 550 5.7.23 for a refused fail/softfail, 550 5.7.24 for a refused
// permerror, 451 4.7.24 for temperror (RFC 7372).
// At end of data it verifies every DKIM-Signature (RFC 6376; the first
// dkim::Limits::max_signatures, each key looked up in turn) and evaluates DMARC (RFC 7489)
// for the From domain with the SPF result (the SPF-authenticated identity: the MAIL FROM
// domain, HELO for the null sender) and the DKIM outcomes, then acts on the DMARC result per
// the dmarc_* keys: a failure under p=reject/p=quarantine gets dmarc_reject/dmarc_quarantine
// (550 5.7.1, quarantine, stamp or accept), a record lookup failure dmarc_temperror (451
// 4.7.1, stamp or accept), p=none nothing. A failing DKIM signature never refuses mail on
// its own (RFC 6376 §6.3): only DMARC decides. Then it removes incoming
// Authentication-Results fields that claim this host's authserv-id ([server] hostname),
// prepends its own (RFC 8601: spf=, one dkim= per signature, dmarc=), removes any incoming
// X-Rampart-Sender-Auth and adds that header when a result was stamped.
// Bounds: the end-of-data DNS work (at most 5 key and 2 DMARC look-ups, each bounded by the
// resolver's timeout) stops asking after kEndOfDataBudget; look-ups not asked then count as
// temporary failures (dkim=temperror, dmarc=temperror), so the chain's own deadline is a
// backstop only.
// Trust: the SPF, DKIM and DMARC records, the message and the incoming header fields are the
// sender's (untrusted); the Public Suffix List is trusted data, loaded once when the agent is
// built. Authenticated users and organisation servers skip this agent (anti-spam), so their
// messages get no Authentication-Results from it. Network: asks DNS, so `rampart explain`
// shows it as not evaluated unless --online.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "config/config.hpp"
#include "filter/agent.hpp"
#include "senderauth/dmarc.hpp"
#include "senderauth/public_suffix.hpp"
#include "senderauth/spf.hpp"

namespace rampart::filter {

class SenderAuth final : public Agent {
public:
    static constexpr std::string_view kStampHeader = "X-Rampart-Sender-Auth";

    // Time for the DKIM key and DMARC record look-ups of one message.
    static constexpr std::chrono::seconds kEndOfDataBudget{10};

    // `authserv_id`: this host's name ([server] hostname). `dns`: the look-ups SPF, DKIM and
    // DMARC ask. `psl`: the Public Suffix List (DMARC organisational domains).
    SenderAuth(config::SenderAuthSettings settings, std::string authserv_id, std::shared_ptr<senderauth::SpfLookup> dns,
               std::shared_ptr<const senderauth::PublicSuffixList> psl);

    // Reads settings.public_suffix_list (resolved by the caller); throws std::runtime_error
    // naming the setting and the file when it cannot be read.
    static std::shared_ptr<const senderauth::PublicSuffixList> load_public_suffix_list(const std::string& path);

    std::string_view name() const override { return "sender_auth"; }
    AgentClass agent_class() const override { return AgentClass::AntiSpam; }
    bool network() const override { return true; }
    // Above SPF's own 20 s budget (which gives temperror) and kEndOfDataBudget plus one
    // look-up, so the chain's 451 4.3.0 for a timeout is only a backstop.
    std::chrono::milliseconds timeout() const override { return std::chrono::seconds(30); }
    bool bound_to(Stage stage) const override { return stage == Stage::RcptTo || stage == Stage::EndOfData; }
    std::unique_ptr<AgentRun> start(const SessionInfo& session) const override;

    // What the configuration says one SPF outcome gets: Continue (possibly noting a
    // stamp in `stamp`), Refuse or Tempfail.
    AgentVerdict judge(const senderauth::SpfOutcome& spf, bool& stamp) const;

    // What the configuration says one DMARC outcome gets: Continue (possibly noting a stamp
    // in `stamp`), Refuse (550 5.7.1), Tempfail (451 4.7.1) or Quarantine.
    AgentVerdict judge(const senderauth::dmarc::Outcome& dmarc, bool& stamp) const;

    const std::string& authserv_id() const { return authserv_id_; }
    senderauth::SpfLookup& dns() const { return *dns_; }
    const senderauth::PublicSuffixList& psl() const { return *psl_; }

    // The clock for DKIM x= (Unix seconds) and the pct= dice (0..99); tests replace them.
    std::function<std::uint64_t()> now;
    std::function<unsigned()> roll;

private:
    config::SenderAuthSettings settings_;
    std::string authserv_id_;
    std::shared_ptr<senderauth::SpfLookup> dns_;
    std::shared_ptr<const senderauth::PublicSuffixList> psl_;
};

}  // namespace rampart::filter
