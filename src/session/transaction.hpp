// session/transaction.hpp — one mail transaction of a session: MAIL, RCPT, DATA and BDAT
// to an envelope and the one commit through queue::Spool (DESIGN.md §8).
// Trust: commands parsed by smtp/command_parser; access questions go to policy/.
// Contract: 250 after the data only once Spool::commit() reported the message durable;
// only <CRLF>.<CRLF> ends DATA (smtp::DataReader), a bare CR/LF ends the session.
// Message data streams into a queue::IncomingMessage (bounded buffer, then a file in the
// spool's incoming directory), so memory per session does not grow with message size.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <asio/awaitable.hpp>

#include "policy/brakes.hpp"
#include "queue/envelope.hpp"
#include "queue/incoming.hpp"
#include "smtp/address.hpp"
#include "smtp/command_parser.hpp"
#include "net/descriptor_budget.hpp"

namespace rampart::filter {
struct ChainResult;
}

namespace rampart::session {

struct SessionState;

class Transaction {
public:
    explicit Transaction(SessionState& s) : s_(s) {}

    bool active() const { return in_mail_; }
    bool smtputf8() const { return mail_.smtputf8; }
    asio::awaitable<void> on_mail(smtp::Command& cmd);
    asio::awaitable<void> on_rcpt(smtp::Command& cmd);
    asio::awaitable<void> on_data();
    asio::awaitable<void> on_bdat(const smtp::Command& cmd);
    // Ends the transaction; a non-empty `why` logs an abandoned transaction that had
    // recipients (RSET, QUIT, EHLO, STARTTLS, timeout, disconnect).
    void reset(std::string_view why);

private:
    using Clock = std::chrono::steady_clock;
    asio::awaitable<void> finish_message(std::string_view message);
    // Reads more message data before `deadline` (data_timeout). On a timeout or a lost
    // connection: answers 421 (timeout only), logs the transaction aborted with `lost` or
    // the timeout, ends it and the session, and returns false.
    asio::awaitable<bool> more_data(Clock::time_point deadline, std::string_view lost, std::uint64_t size);
    // The arriving message could not be stored (disk full, ...): logs, ends the
    // transaction, answers 452 4.3.1.
    void storage_failed(const Error& e, std::uint64_t size);
    // Leases the descriptors this transaction needs briefly (incoming file, spool file,
    // engine connections; SessionServices::commit_descriptors), once per transaction,
    // waiting at most SessionServices::descriptor_wait. False: none came in time.
    asio::awaitable<bool> lease_descriptors();
    // No lease in time: logs, ends the transaction, answers 451 4.3.2.
    void no_descriptors(std::uint64_t size);
    // `rule`, `agent`: who refused at end of data, for the log and `rampart track`.
    void log_transaction(std::string_view result, const smtp::Reply& r, std::uint64_t size, std::string_view rule = {},
                         std::string_view agent = {});
    // The end-of-data agents changed the envelope: `wanted` is the recipient list they left
    // (client recipients keep their DSN parameters; added ones get the defaults).
    void apply_envelope_edits(const std::vector<std::string>& wanted);
    // limits.max_message_size against the message plus our Received header: the refusal, or nullopt.
    std::optional<smtp::Reply> over_size_limit(std::uint64_t size_with_header) const;
    // Hourly limits of an authenticated user: the refusal if `messages`/`recipients` more
    // would exceed them (and logs it), else nullopt and they are held in quota_ (given back
    // by reset() unless the spool commit counted them). The refusal is logged as a MAIL
    // (`to` null) or RCPT refusal with its rule, like every other (message tracking finds it).
    std::optional<smtp::Reply> braked(std::uint32_t messages, std::uint32_t recipients, const smtp::Path& from,
                                      const smtp::Path* to);
    void note_filter(const filter::ChainResult& cf);
    asio::awaitable<std::optional<smtp::Reply>> back_pressure(const smtp::Path& sender);
    // An unauthenticated client sent bytes after DATA before our 354 (forbid_unauth_pipelining).
    bool pipelined_past_data() const;

    SessionState& s_;
    bool in_mail_ = false;
    smtp::Path sender_;
    smtp::MailParams mail_;
    std::vector<queue::Recipient> rcpts_;
    unsigned refused_rcpts_ = 0;
    std::string last_refusal_;
    bool bdat_started_ = false;
    bool bdat_too_big_ = false;
    queue::IncomingMessage incoming_;   // the message being received (DATA or BDAT chunks)
    Clock::time_point started_;
    // Filter verdicts short of a refusal, remembered until the end of data.
    std::string quarantine_;          // "agent: reason" of the first quarantine verdict
    bool discard_ = false;            // an agent discarded the whole message at MAIL
    unsigned discarded_rcpts_ = 0;    // recipients an agent discarded (answered 250, never stored)
    Clock::time_point bdat_deadline_{};   // data_timeout for all chunks, from the first BDAT
    policy::Brakes::Reservation quota_;   // this transaction's share of the hourly limits
    net::DescriptorLease lease_;         // held from the incoming file or end of data to reset()
    bool lease_failed_ = false;           // the incoming file could not get one
};

}  // namespace rampart::session
