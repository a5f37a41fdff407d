// filter/transport_rules.hpp — the transport rules agent (DESIGN.md §5, §11
// [[transport_rules]], issue 10): at end of data, after antivirus and before routing, the
// configured rules are checked in order against the message as the earlier agents left
// it. A rule matches when every condition it gives holds (sender, recipients, inside or
// outside the organisation, header words or glob, subject and body words, attachment name
// or type — the attachment filter's own matching —, size, SCL); its actions apply in the
// fixed order prepend_subject, add_header, set_header, remove_header, set_scl, redirect,
// bcc, quarantine, reject, drop, stop. Later rules see the message and recipients as
// earlier rules left them.
// Class: Policy — never skipped, authenticated users' and organisation servers' mail
// included (the organisation's rules apply to all mail). Pure: no network.
// Trust: the message is hostile; matching is bounded (header values 64 KiB, 1 MiB of each
// text part and 4 MiB in all for body_contains, globs in linear time, the MIME parser's
// and the zip lister's limits for attachments). Every matched rule is logged with its name
// and why it matched (`transport_rules.match`).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "filter/address_list.hpp"
#include "filter/agent.hpp"
#include "filter/attachment_filter.hpp"

namespace rampart::filter {

class TransportRules final : public Agent {
public:
    TransportRules(const std::vector<config::TransportRule>& rules, std::vector<config::Domain> domains);
    std::string_view name() const override { return "transport_rules"; }
    AgentClass agent_class() const override { return AgentClass::Policy; }
    bool network() const override { return false; }
    bool bound_to(Stage stage) const override { return stage == Stage::EndOfData; }
    std::unique_ptr<AgentRun> start(const SessionInfo& session) const override;

    // The whole logic for one message: `session` is the session as it is at end of data.
    AgentVerdict judge(const SessionInfo& session, const MessageView& view) const;

    // The Subject field with `prefix` put before the value (see prepend_subject), or the
    // message unchanged if the subject starts with the prefix already. Exposed for tests.
    static std::string prepend_subject(std::string_view message, std::string_view prefix);

private:
    struct Compiled {
        config::TransportRule rule;
        AddressList from;
        AddressList to;
        std::unique_ptr<AttachmentFilter> names;   // the attachment filter's matching, names only
        std::unique_ptr<AttachmentFilter> types;   // types only (declared and sniffed)
    };
    struct Work;
    bool matches(const Compiled& c, Work& w, std::string& why) const;
    std::vector<Compiled> rules_;
    std::vector<config::Domain> domains_;
};

}  // namespace rampart::filter
