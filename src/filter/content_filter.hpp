// filter/content_filter.hpp — the content filter agent (DESIGN.md §5, §11 [content_filter],
// issue 9): at end of data the message goes to rspamd (/checkv2), its answer becomes a spam
// confidence level (SCL 0..9, filter/rspamd_reply.hpp) and the thresholds apply in
// Exchange's order: delete_at (250, nothing delivered), reject_at (550 5.7.1), quarantine_at;
// otherwise the message is stamped "X-Rampart-SCL: N".
// Trust: an incoming X-Rampart-SCL header is removed from every message, except from an
// organisation server (principal kind Server), whose stamp is kept and judged by
// delete_at and quarantine_at (not reject_at: that server already accepted the message, a
// refusal would bounce to a probably forged sender). Authenticated users are not scanned
// (anti-spam), but their stamps are removed too — which is why this agent is of class
// Hygiene (the chain never skips it) and does the anti-spam skip itself.
// Safe lists (directory/safe_senders.hpp): when every recipient lists the envelope sender,
// rspamd is not asked and the message is stamped SCL -1; when only some do, rspamd is asked
// and the SCL stamped, but no threshold applies (one DATA reply cannot be split; the
// safe-listing recipients get their mail).
// Fails closed: rspamd down, past `timeout`, or answering garbage gives 451 4.7.1 unless
// on_error = "accept" (then the message passes without a stamp, logged).
#pragma once

#include <optional>
#include <string>

#include "config/config.hpp"
#include "filter/agent.hpp"
#include "filter/rspamd_reply.hpp"

namespace rampart::replication {
class LiveReplica;
}

namespace rampart::filter {

class ContentFilter final : public Agent {
public:
    static constexpr std::string_view kHeader = "X-Rampart-SCL";

    // `replica`: role edge, the safe lists replicated from the hub (keyed hashes), asked
    // besides the directory.
    ContentFilter(config::ContentFilterSettings settings, std::string hostname,
                  const replication::LiveReplica* replica = nullptr)
        : settings_(std::move(settings)), hostname_(std::move(hostname)), replica_(replica) {}
    std::string_view name() const override { return "content_filter"; }
    AgentClass agent_class() const override { return AgentClass::Hygiene; }
    bool network() const override { return settings_.engine == config::ContentEngine::Rspamd; }
    // Past rspamd's own deadline, so its timeout is reported as rspamd's failure (451 4.7.1).
    std::chrono::milliseconds timeout() const override { return settings_.timeout + std::chrono::seconds(5); }
    bool bound_to(Stage stage) const override { return stage == Stage::EndOfData; }
    std::unique_ptr<AgentRun> start(const SessionInfo& session) const override;

    // The thresholds for an SCL: delete_at, then reject_at (unless `trusted_stamp`), then
    // quarantine_at; else proceed. Edits are the caller's.
    AgentVerdict judge(int scl, bool trusted_stamp) const;
    // The verdict for rspamd's answer (or its failure).
    AgentVerdict decide(const RspamdReply& reply, bool some_recipients_safe) const;
    // Asks rspamd about one message.
    asio::awaitable<RspamdReply> check(const SessionInfo& session, const MessageView& view) const;

    const config::ContentFilterSettings& settings() const { return settings_; }
    // True if `recipient` lists `sender` as a safe sender: the directory's safe_senders, or
    // on an edge the replicated safe lists.
    bool lists_safe_sender(const directory::Directory* dir, std::string_view recipient, const smtp::Mailbox& sender) const;

    // The value of the first X-Rampart-SCL field of the header block, if it is an SCL (-1..9).
    static std::optional<int> read_stamp(std::string_view message);
    // True if the header block has an X-Rampart-SCL field (any value).
    static bool has_stamp(std::string_view message);

private:
    config::ContentFilterSettings settings_;
    std::string hostname_;
    const replication::LiveReplica* replica_ = nullptr;
};

}  // namespace rampart::filter
