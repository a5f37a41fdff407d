// session/transaction.cpp — MAIL/RCPT/DATA/BDAT to an envelope and the spool commit
// (see transaction.hpp).
#include "session/transaction.hpp"

#include <algorithm>
#include <ctime>

#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "session/back_pressure.hpp"
#include "session/expansion.hpp"
#include "net/stream.hpp"
#include "policy/brakes.hpp"
#include "policy/trust.hpp"
#include "queue/spool.hpp"
#include "queue/spool_format.hpp"
#include "session/received.hpp"
#include "session/state.hpp"
#include "smtp/data_reader.hpp"
#include "smtp/reply.hpp"
#include "tracking/tracking_id.hpp"
#include "util/log.hpp"
#include "util/metric_catalog.hpp"
#include "util/text.hpp"

namespace rampart::session {
namespace {

using std::chrono::milliseconds;
using smtp::Reply;

std::string join(const std::vector<queue::Recipient>& rcpts) {
    std::string out;
    for (const auto& r : rcpts) {
        if (!out.empty()) out += ',';
        out += r.address;
    }
    return out;
}

}  // namespace

asio::awaitable<void> Transaction::on_mail(smtp::Command& cmd) {
    const config::Listener& l = s_.listener;
    if (s_.helo.empty()) co_return s_.reply(Reply(503, "5.5.1", "send EHLO or HELO first"));
    if (in_mail_) co_return s_.reply(Reply(503, "5.5.1", "nested MAIL command"));
    s_.next_tracking_id();
    if (!s_.esmtp && (cmd.mail.size || cmd.mail.body != smtp::Body::Unspecified || cmd.mail.smtputf8 ||
                      cmd.mail.ret != smtp::Ret::Unspecified || !cmd.mail.envid.empty()))
        co_return s_.reply(Reply(555, "5.5.4", "MAIL parameters need EHLO"));
    if (!s_.helo_forged.empty()) s_.note_reputation(filter::Signal::HeloForgery);
    if (s_.svc.directory) s_.facts.directory = s_.svc.directory->get();   // one snapshot per transaction
    if (s_.svc.live_domains)
        if (auto d = s_.svc.live_domains()) {   // an edge's replicated domains, also per transaction
            s_.live_domains = std::move(d);
            s_.facts.domains = s_.live_domains.get();
        }
    if (s_.svc.live_connectors)
        if (auto c = s_.svc.live_connectors()) {   // a hub's connector to its edges as they are now
            s_.live_connectors = std::move(c);
            s_.facts.connectors = s_.live_connectors.get();
        }
    // SIZE= is the first of the MAIL rules (limits.max_message_size): explain asks the same.
    policy::Decision d = policy::check_mail(s_.facts, cmd.path, policy::MailFacts{cmd.mail.size, s_.message_size_limit()});
    if (d.verdict == policy::Verdict::Refuse) {
        metrics::catalog().refusals.with({l.name, "mail", metrics::kPolicyAgent, d.rule}).inc();
        log::info("smtp.mail.refused", {{"listener", l.name}, {"client", s_.client_text()}, {"from", cmd.path.text()},
                                        {"rule", d.rule}, {"code", d.reply.code}, {"reason", d.reply.text},
                                        {"tracking_id", s_.tracking_id}});
        co_return s_.reply(d.reply);
    }
    if (std::optional<Reply> r = co_await back_pressure(cmd.path)) co_return s_.reply(*r);
    filter::MessageView view;
    view.helo = s_.helo;
    view.sender = &cmd.path;
    view.directory = s_.facts.directory.get();
    filter::ChainResult cf = co_await s_.run_filters(filter::Stage::MailFrom, view);
    if (cf.kind == filter::AgentVerdict::Kind::Refuse || cf.kind == filter::AgentVerdict::Kind::Tempfail) {
        metrics::catalog().refusals.with({l.name, "mail", cf.agent, cf.rule}).inc();
        log::info("smtp.mail.refused", {{"listener", l.name}, {"client", s_.client_text()}, {"from", cmd.path.text()},
                                        {"rule", cf.rule}, {"agent", cf.agent}, {"code", cf.reply.code}, {"reason", cf.reason}, {"tracking_id", s_.tracking_id}});
        reset("");   // no transaction was opened; agents drop what they learnt
        co_return s_.reply(cf.reply);
    }
    // The hourly limits are reserved last, so a refusal above holds nothing.
    if (auto r = braked(1, 0, cmd.path, nullptr)) {
        reset("");
        co_return s_.reply(*r);
    }
    note_filter(cf);
    discard_ = cf.kind == filter::AgentVerdict::Kind::Discard;
    in_mail_ = true;
    sender_ = std::move(cmd.path);
    mail_ = std::move(cmd.mail);
    started_ = Clock::now();
    s_.reply(Reply(250, "2.1.0", "sender ok"));
}

asio::awaitable<void> Transaction::on_rcpt(smtp::Command& cmd) {
    const config::Listener& l = s_.listener;
    if (!in_mail_) co_return s_.reply(Reply(503, "5.5.1", "need MAIL command first"));
    if (bdat_started_) co_return s_.reply(Reply(503, "5.5.1", "RCPT after BDAT is not allowed"));
    if (!s_.esmtp && (cmd.rcpt.notify != 0 || !cmd.rcpt.orcpt.empty()))
        co_return s_.reply(Reply(555, "5.5.4", "RCPT parameters need EHLO"));
    filter::MessageView view;
    view.helo = s_.helo;
    view.sender = &sender_;
    view.rcpt = &cmd.path;
    view.directory = s_.facts.directory.get();
    // limits.max_recipients is the first of the RCPT rules: explain asks the same.
    policy::Decision d = policy::check_rcpt(s_.facts, sender_, cmd.path, rcpts_.size());
    if (d.verdict != policy::Verdict::Accept) {
        Reply reply = d.reply;
        std::string rule(d.rule), reason = d.reply.text, agent(metrics::kPolicyAgent);
        // An unknown recipient is still put to the filter chain: on a filtered listener the
        // recipient filter refuses it the same way after its tarpit (DESIGN.md §11).
        if (policy::unknown_recipient(d)) {
            filter::ChainResult uf = co_await s_.run_filters(filter::Stage::RcptTo, view);
            if (uf.kind == filter::AgentVerdict::Kind::Refuse) {
                reply = uf.reply;
                rule = uf.rule;
                agent = uf.agent;
                reason = uf.reason;
            }
        }
        ++refused_rcpts_;
        last_refusal_ = reply.summary();
        if (reply.permanent()) s_.note_reputation(filter::Signal::RefusedRecipient);
        metrics::catalog().refusals.with({l.name, "rcpt", agent, rule}).inc();
        log::info("smtp.rcpt.refused", {{"listener", l.name}, {"client", s_.client_text()}, {"from", sender_.text()},
                                        {"to", cmd.path.text()}, {"rule", rule}, {"code", reply.code}, {"reason", reason},
                                        {"tracking_id", s_.tracking_id}});
        co_return s_.reply(reply);
    }
    filter::ChainResult cf = co_await s_.run_filters(filter::Stage::RcptTo, view);
    if (cf.kind == filter::AgentVerdict::Kind::Refuse || cf.kind == filter::AgentVerdict::Kind::Tempfail) {
        ++refused_rcpts_;
        last_refusal_ = cf.reply.summary();
        if (cf.reply.permanent()) s_.note_reputation(filter::Signal::RefusedRecipient);
        metrics::catalog().refusals.with({l.name, "rcpt", cf.agent, cf.rule}).inc();
        log::info("smtp.rcpt.refused", {{"listener", l.name}, {"client", s_.client_text()}, {"from", sender_.text()},
                                        {"to", cmd.path.text()}, {"rule", cf.rule}, {"agent", cf.agent},
                                        {"code", cf.reply.code}, {"reason", cf.reason}, {"tracking_id", s_.tracking_id}});
        co_return s_.reply(cf.reply);
    }
    bool discarded = cf.kind == filter::AgentVerdict::Kind::Discard;
    if (!discarded) {
        if (auto r = braked(0, 1, sender_, &cmd.path)) {   // the earlier recipients are held already
            ++refused_rcpts_;
            last_refusal_ = r->summary();
            co_return s_.reply(*r);
        }
    }
    // A discarded recipient is answered like any other and never delivered.
    if (!discarded)
        rcpts_.push_back(queue::Recipient{cmd.path.text(), cmd.rcpt.notify, cmd.rcpt.orcpt, false, {}, {}});
    else
        ++discarded_rcpts_;
    note_filter(cf);
    s_.reply(d.reply);
}

// RFC 2920 §3.1 lets DATA end a pipelined group; a client that sends anything after it
// before our 354 is not waiting for the reply: the SMTP smuggling pattern (Postfix's
// smtpd_forbid_unauth_pipelining). Checked: bytes already read, and bytes waiting in the
// socket. Bytes still in flight when we look cannot be told apart from a client that
// waited; the check is a net for senders that do not, not a proof.
bool Transaction::pipelined_past_data() const {
    if (!s_.listener.forbid_unauth_pipelining || !s_.facts.principal.anonymous()) return false;
    return !s_.io.pending().empty() || s_.stream.peer_gone();
}

// Back pressure (session/back_pressure.hpp): the spool's disk or the queue past a
// watermark delays MAIL FROM on a timer (other sessions go on) or refuses it with 452 4.3.1.
asio::awaitable<std::optional<Reply>> Transaction::back_pressure(const smtp::Path& sender) {
    if (!s_.svc.back_pressure) co_return std::nullopt;
    policy::PressureVerdict v = s_.svc.back_pressure->decide(s_.facts.principal);
    s_.svc.back_pressure->count(v);
    if (v.kind == policy::PressureVerdict::Kind::Tarpit) {
        log::info("back_pressure.tarpit", {{"listener", s_.listener.name}, {"client", s_.client_text()},
                                           {"rule", v.rule}, {"delay_ms", v.delay.count()}});
        co_await s_.io.flush();   // earlier pipelined replies are not held back by the wait
        asio::steady_timer t(co_await asio::this_coro::executor, v.delay);
        std::error_code ec;
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        co_return std::nullopt;
    }
    if (v.kind != policy::PressureVerdict::Kind::Refuse) co_return std::nullopt;
    metrics::catalog().refusals.with({s_.listener.name, "mail", metrics::kPolicyAgent, v.rule}).inc();
    log::info("smtp.mail.refused", {{"listener", s_.listener.name}, {"client", s_.client_text()}, {"from", sender.text()},
                                    {"rule", v.rule}, {"code", v.reply.code}, {"reason", v.reason},
                                    {"tracking_id", s_.tracking_id}});
    co_return v.reply;
}

void Transaction::note_filter(const filter::ChainResult& cf) {
    if (cf.kind == filter::AgentVerdict::Kind::Quarantine && quarantine_.empty()) quarantine_ = cf.agent + ": " + cf.reason;
}

asio::awaitable<void> Transaction::on_data() {
    const config::Listener& l = s_.listener;
    if (!in_mail_) co_return s_.reply(Reply(503, "5.5.1", "need MAIL command first"));
    if (bdat_started_) co_return s_.reply(Reply(503, "5.5.1", "DATA after BDAT is not allowed"));
    if (rcpts_.empty() && discarded_rcpts_ == 0) co_return s_.reply(Reply(554, "5.5.1", "no valid recipients"));
    if (pipelined_past_data()) {
        Reply r(554, "5.5.0", "SMTP protocol synchronization error: data sent before the 354 reply; closing");
        log::warn("smtp.pipelining_refused", {{"listener", l.name}, {"client", s_.client_text()},
                                              {"pending_bytes", s_.io.pending().size()}, {"setting", "forbid_unauth_pipelining"}});
        log_transaction("refused", r, 0, "forbid_unauth_pipelining");
        s_.note_reputation(filter::Signal::Pipelining);
        reset("");
        co_await s_.close_after_fatal(r);
        co_return;
    }
    s_.reply(Reply(354, "", "end data with <CR><LF>.<CR><LF>"));
    smtp::DataReader reader(l.limits.max_message_size, l.limits.max_line_length);
    incoming_.start(s_.svc.spool->incoming_dir());
    auto deadline = Clock::now() + l.limits.data_timeout;
    while (true) {
        std::size_t used = 0;
        smtp::DataReader::Status st = reader.feed(s_.io.pending(), used, incoming_.buffer());
        s_.io.consume(used);
        // Past the limit nothing more is kept (552 at the end): give the space back now.
        if (reader.too_big() && incoming_.started()) incoming_.reset();
        if (incoming_.wants_file() && !co_await lease_descriptors()) incoming_.give_up(Error{EMFILE, "no descriptor free for the incoming file"});
        incoming_.spill();
        if (st == smtp::DataReader::Status::Done) break;
        if (st == smtp::DataReader::Status::BareLineEnd) {
            Reply r(521, "5.5.2", std::string("bare ") + (reader.bare_cr() ? "CR" : "LF") +
                                      " in message data; only <CRLF>.<CRLF> ends data (RFC 5321 §2.3.8); closing");
            log_transaction("refused", r, reader.size());
            reset("");
            co_await s_.close_after_fatal(r);
            co_return;
        }
        if (!co_await more_data(deadline, "connection lost during DATA", reader.size())) co_return;
    }
    Reply refusal;
    if (reader.too_big())
        refusal = Reply(552, "5.3.4", "message exceeds the size limit of " + std::to_string(l.limits.max_message_size) + " bytes");
    else if (reader.line_too_long())
        refusal = Reply(554, "5.6.0", "message has a line longer than " + std::to_string(l.limits.max_line_length) + " characters");
    else if (reader.has_nul())
        refusal = Reply(554, "5.6.0", "message contains NUL characters");
    if (!refusal.empty()) {
        log_transaction("refused", refusal, reader.size());
        reset("");
        co_return s_.reply(refusal);
    }
    if (lease_failed_) co_return no_descriptors(reader.size());
    Result<std::string_view> message = incoming_.finish();
    if (!message) co_return storage_failed(message.error(), reader.size());
    co_await finish_message(*message);
}

asio::awaitable<void> Transaction::on_bdat(const smtp::Command& cmd) {
    const config::Listener& l = s_.listener;
    // The chunk is read whatever happens, so the stream stays in step (RFC 3030 §2).
    bool usable = in_mail_ && (!rcpts_.empty() || discarded_rcpts_ > 0);
    if (usable && !bdat_too_big_ && !incoming_.started()) incoming_.start(s_.svc.spool->incoming_dir());
    std::uint64_t need = cmd.chunk_size;
    // data_timeout covers the whole message: every chunk of the transaction, from the first
    // (reset() clears it), as the settings reference says; a chunk that arrives whole after
    // it has passed is not taken either.
    auto deadline = Clock::now() + l.limits.data_timeout;
    if (usable) {
        if (bdat_deadline_ == Clock::time_point{}) bdat_deadline_ = deadline;
        deadline = bdat_deadline_;
    }
    while (need > 0) {
        std::string_view avail = s_.io.pending();
        if (avail.empty() || Clock::now() >= deadline) {
            if (!co_await more_data(deadline, "connection lost during BDAT", incoming_.size())) co_return;
            continue;
        }
        std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(avail.size(), need));
        if (usable && !bdat_too_big_) {
            if (incoming_.size() + take > l.limits.max_message_size) {
                bdat_too_big_ = true;
                incoming_.reset();
            } else {
                incoming_.buffer().append(avail.substr(0, take));
                if (incoming_.wants_file() && !co_await lease_descriptors())
                    incoming_.give_up(Error{EMFILE, "no descriptor free for the incoming file"});
                incoming_.spill();
            }
        }
        s_.io.consume(take);
        need -= take;
    }
    if (!in_mail_) co_return s_.reply(Reply(503, "5.5.1", "need MAIL command first"));
    if (!usable) co_return s_.reply(Reply(554, "5.5.1", "no valid recipients"));
    bdat_started_ = true;
    if (!cmd.last_chunk) co_return s_.reply(Reply(250, "2.0.0", std::to_string(cmd.chunk_size) + " octets received"));
    Reply refusal;
    std::string_view message;
    if (bdat_too_big_) {
        refusal = Reply(552, "5.3.4", "message exceeds the size limit of " + std::to_string(l.limits.max_message_size) + " bytes");
    } else {
        if (lease_failed_) co_return no_descriptors(incoming_.size());
        Result<std::string_view> m = incoming_.finish();
        if (!m) co_return storage_failed(m.error(), incoming_.size());
        message = *m;
        smtp::LineFacts f = smtp::check_lines(message, l.limits.max_line_length);
        if (f.bare_line_end) refusal = Reply(554, "5.6.0", "bare CR or LF in message data; lines must end with CRLF");
        else if (f.long_line)
            refusal = Reply(554, "5.6.0", "message has a line longer than " + std::to_string(l.limits.max_line_length) + " characters");
        else if (f.nul) refusal = Reply(554, "5.6.0", "message contains NUL characters");
    }
    if (!refusal.empty()) {
        log_transaction("refused", refusal, message.size());
        reset("");
        co_return s_.reply(refusal);
    }
    co_await finish_message(message);
}

void Transaction::storage_failed(const Error& e, std::uint64_t size) {
    log::error("spool.incoming.failed", {{"listener", s_.listener.name}, {"client", s_.client_text()}, {"error", e.message}});
    Reply r(452, "4.3.1", "insufficient system storage; try again later");
    log_transaction("deferred", r, size);
    reset("");
    s_.reply(r);
}

asio::awaitable<bool> Transaction::lease_descriptors() {
    if (lease_) co_return true;
    if (lease_failed_) co_return false;
    if (!s_.svc.commit_descriptors) {
        lease_ = net::DescriptorLease::unlimited();
        co_return true;
    }
    lease_ = co_await s_.svc.commit_descriptors->acquire(s_.svc.descriptors_per_commit, s_.svc.descriptor_wait);
    lease_failed_ = !lease_;
    co_return !lease_failed_;
}

void Transaction::no_descriptors(std::uint64_t size) {
    const net::DescriptorBudget* b = s_.svc.commit_descriptors;
    log::warn("server.descriptors.busy", {{"listener", s_.listener.name}, {"client", s_.client_text()},
                                          {"leases", b ? b->capacity() / std::max<std::uint64_t>(s_.svc.descriptors_per_commit, 1) : 0},
                                          {"waiting", b ? b->waiting() : 0}, {"wait_ms", s_.svc.descriptor_wait.count()}});
    Reply r(451, "4.3.2", "system busy: no room to store the message now; try again later");
    log_transaction("deferred", r, size);
    reset("");
    s_.reply(r);
}

asio::awaitable<bool> Transaction::more_data(Clock::time_point deadline, std::string_view lost, std::uint64_t size) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left > milliseconds(0) && co_await s_.io.fill(std::min(left, s_.listener.limits.command_timeout), LineIo::kDataChunk))
        co_return true;
    Reply r(421, "4.4.2", "data not received in time; closing");
    bool timeout = s_.stream.end() == net::StreamEnd::Timeout || left <= milliseconds(0);
    if (timeout) {
        s_.reply(r);
        co_await s_.io.flush();
    }
    log_transaction("aborted", timeout ? r : Reply(421, "4.4.2", lost), size);
    reset("");
    s_.quit = true;
    co_return false;
}

asio::awaitable<void> Transaction::finish_message(std::string_view message) {
    const config::Listener& l = s_.listener;
    // X-Rampart-Tracking-Id: an organisation server's is kept, so the message keeps the id
    // it got at the edge (from here on, refusals and verdicts too); anyone else's goes.
    std::optional<std::string> given = tracking::read_header(message);
    bool keep_given = given && policy::organisation_server(s_.facts.principal) && tracking::valid_tracking_id(*given);
    if (keep_given) s_.tracking_id = *given;
    policy::Decision hops = policy::check_data(s_.facts, smtp::count_received_headers(message));
    if (hops.verdict == policy::Verdict::Refuse) {
        metrics::catalog().refusals.with({l.name, "data", metrics::kPolicyAgent, hops.rule}).inc();
        log_transaction("refused", hops.reply, message.size(), hops.rule);
        reset("");
        co_return s_.reply(hops.reply);
    }
    std::vector<std::string> rcpt_texts;
    for (const queue::Recipient& r : rcpts_) rcpt_texts.push_back(r.address);
    filter::MessageView view;
    view.helo = s_.helo;
    view.sender = &sender_;
    view.recipients = rcpt_texts;
    view.message = message;
    view.directory = s_.facts.directory.get();
    // The end-of-data agents' engine connections and the spool file need descriptors.
    if (!co_await lease_descriptors()) co_return no_descriptors(message.size());
    filter::ChainResult cf = co_await s_.run_filters(filter::Stage::EndOfData, view);
    if (cf.scl) s_.note_reputation(filter::Signal::Scl, *cf.scl);
    if (cf.kind == filter::AgentVerdict::Kind::Refuse || cf.kind == filter::AgentVerdict::Kind::Tempfail) {
        metrics::catalog().refusals.with({l.name, "data", cf.agent, cf.rule}).inc();
        log_transaction("refused", cf.reply, message.size(), cf.rule, cf.agent);
        reset("");
        co_return s_.reply(cf.reply);
    }
    note_filter(cf);
    if (cf.message) message = *cf.message;   // edited by an agent; cf outlives the commit
    if (cf.recipients) apply_envelope_edits(*cf.recipients);
    if (cf.sender) sender_ = *cf.sender;   // a milter's chgfrom
    if (cf.kind == filter::AgentVerdict::Kind::Discard || discard_ || rcpts_.empty()) {
        // 250 to the client like any accepted message (nothing tells a spammer it was
        // dropped); logged; nothing stored, nothing delivered.
        Reply ok(250, "2.0.0", "Ok: queued as " + queue::new_queue_id());
        log_transaction("discarded", ok, message.size());
        reset("");
        co_return s_.reply(ok);
    }
    // Anyone else's X-Rampart-Tracking-Id is removed (from the message as the agents left
    // it) and ours added next to our Received header.
    std::string stripped;   // the message without an untrusted id; outlives the commit
    std::string tracking_head;
    if (!keep_given) {
        if (tracking::has_header(message)) {
            filter::Edits strip;
            strip.remove_headers.emplace_back(tracking::kHeader);
            stripped = filter::apply_edits(message, strip);
            message = stripped;
        }
        tracking_head = tracking::header_line(s_.tracking_id);
    }
    queue::Envelope env;
    env.id = queue::new_queue_id();
    env.received_at = std::time(nullptr);
    env.listener = l.name;
    env.client = s_.client_text();
    env.helo = s_.helo;
    env.tls = s_.stream.tls_description();
    env.principal = s_.facts.principal.text();
    env.sender = sender_.text();
    env.body = mail_.body;
    env.smtputf8 = mail_.smtputf8;
    env.ret = mail_.ret;
    env.envid = mail_.envid;
    // Aliases expand here, so each final recipient has its own durable state and DSN.
    env.recipients = s_.facts.directory ? expand_recipients(*s_.facts.directory, s_.svc.config->domains, rcpts_) : rcpts_;
    ReceivedFacts rf;
    rf.helo = s_.helo;
    rf.client_ip = s_.client_text();
    rf.hostname = s_.hostname();
    rf.esmtp = s_.esmtp;
    rf.smtputf8 = mail_.smtputf8;
    rf.tls = s_.stream.tls_active();
    rf.tls_description = s_.stream.tls_description();
    rf.authenticated = !s_.facts.principal.anonymous();
    if (s_.facts.principal.kind == policy::Principal::Kind::Server) rf.server_principal = s_.facts.principal.text();
    rf.id = env.id;
    if (rcpts_.size() == 1) rf.single_recipient = rcpts_.front().address;
    rf.when = std::time(nullptr);
    std::string head = received_header(rf) + tracking_head;
    if (auto r = over_size_limit(head.size() + message.size())) {   // what will be sent on, our header included
        log_transaction("refused", *r, message.size(), "limits.max_message_size");
        reset("");
        co_return s_.reply(*r);
    }
    std::string records;
    if (!quarantine_.empty()) {
        // Durable with the message, in the same flush: it is never delivered unreleased.
        records = queue::encode_quarantine(quarantine_);
        env.held = true;
        env.quarantine = quarantine_;
    }
    // Once copied into the spool file the incoming file goes, before the flush: its dirty
    // pages are then dropped, not written to disk as well (`message` is not read again).
    auto id = co_await s_.svc.spool->commit(env, head, message, records, [this] { incoming_.reset(); });
    if (!id) {
        log::error("spool.commit.failed", {{"listener", l.name}, {"client", s_.client_text()}, {"error", id.error().message}});
        Reply r(452, "4.3.1", "insufficient system storage; try again later");
        log_transaction("deferred", r, message.size());
        reset("");
        co_return s_.reply(r);
    }
    env.id = *id;
    env.size = head.size() + message.size();
    quota_.commit();   // what MAIL and RCPT reserved is now sent
    Reply ok(250, "2.0.0", "Ok: queued as " + env.id);
    if (!env.quarantine.empty())
        log::info("quarantine.added", {{"qid", env.id}, {"listener", l.name}, {"client", s_.client_text()}, {"reason", env.quarantine},
                                        {"tracking_id", s_.tracking_id}});
    log_transaction(env.quarantine.empty() ? "accepted" : "quarantined", ok, env.size);
    reset("");
    if (s_.svc.queued) s_.svc.queued(env);
    s_.reply(ok);
}

void Transaction::apply_envelope_edits(const std::vector<std::string>& wanted) {
    auto same = [](std::string_view a, std::string_view b) { return util::ascii_lower(a) == util::ascii_lower(b); };
    std::vector<queue::Recipient> kept;
    for (const std::string& w : wanted) {
        auto it = std::find_if(rcpts_.begin(), rcpts_.end(), [&](const queue::Recipient& r) { return same(r.address, w); });
        if (it != rcpts_.end()) {
            kept.push_back(*it);   // as the client gave it, with its DSN parameters
            continue;
        }
        queue::Recipient added;   // an agent's recipient: default DSN behaviour
        added.address = w;
        kept.push_back(std::move(added));
    }
    for (const queue::Recipient& r : rcpts_)
        if (std::none_of(kept.begin(), kept.end(), [&](const queue::Recipient& k) { return same(k.address, r.address); }))
            log::info("filter.recipient.removed", {{"listener", s_.listener.name}, {"client", s_.client_text()}, {"rcpt", r.address}});
    for (const queue::Recipient& k : kept)
        if (std::none_of(rcpts_.begin(), rcpts_.end(), [&](const queue::Recipient& r) { return same(k.address, r.address); }))
            log::info("filter.recipient.added", {{"listener", s_.listener.name}, {"client", s_.client_text()}, {"rcpt", k.address}});
    rcpts_ = std::move(kept);
}

std::optional<Reply> Transaction::over_size_limit(std::uint64_t size_with_header) const {
    policy::Decision d = policy::check_message_size(s_.listener, size_with_header);
    if (d.verdict != policy::Verdict::Refuse) return std::nullopt;
    return d.reply;
}

std::optional<Reply> Transaction::braked(std::uint32_t messages, std::uint32_t recipients, const smtp::Path& from,
                                        const smtp::Path* to) {
    const config::Listener& l = s_.listener;
    const policy::Principal& p = s_.facts.principal;
    if (!s_.svc.brakes || p.kind != policy::Principal::Kind::User) return std::nullopt;
    policy::Brakes::Limit hit = quota_.reserve(*s_.svc.brakes, p.text(), messages, recipients, l.limits);
    if (hit == policy::Brakes::Limit::None) return std::nullopt;
    bool msgs = hit == policy::Brakes::Limit::Messages;
    // The same decision explain shows as live-only (it cannot know the counts offline).
    Reply r = policy::check_hourly_limit(s_.facts, !msgs, hit).reply;
    log::warn("smtp.rate.limited", {{"listener", l.name}, {"client", s_.client_text()}, {"principal", p.text()},
                                    {"limit", msgs ? "limits.max_messages_per_hour" : "limits.max_recipients_per_hour"},
                                    {"max", msgs ? l.limits.max_messages_per_hour : l.limits.max_recipients_per_hour},
                                    {"code", r.code}, {"reason", r.text}});
    // The refusal itself, as every refusal at MAIL or RCPT is logged (message tracking finds it).
    std::string_view rule = msgs ? "limits.max_messages_per_hour" : "limits.max_recipients_per_hour";
    metrics::catalog().refusals.with({l.name, to ? "rcpt" : "mail", metrics::kPolicyAgent, rule}).inc();
    if (to)
        log::info("smtp.rcpt.refused", {{"listener", l.name}, {"client", s_.client_text()}, {"from", from.text()},
                                        {"to", to->text()}, {"rule", rule}, {"code", r.code}, {"reason", r.text},
                                        {"tracking_id", s_.tracking_id}});
    else
        log::info("smtp.mail.refused", {{"listener", l.name}, {"client", s_.client_text()}, {"from", from.text()},
                                        {"rule", rule}, {"code", r.code}, {"reason", r.text}, {"tracking_id", s_.tracking_id}});
    return r;
}

void Transaction::reset(std::string_view why) {
    if (in_mail_ && !why.empty() && (refused_rcpts_ > 0 || !rcpts_.empty() || bdat_started_)) {
        Reply r = refused_rcpts_ > 0 && rcpts_.empty() ? Reply(550, "5.0.0", "no recipient accepted: " + last_refusal_)
                                                       : Reply(250, "2.0.0", "transaction abandoned: " + std::string(why));
        log_transaction("abandoned", r, incoming_.size());
    }
    in_mail_ = false;
    quota_.release();   // nothing if the commit counted it
    sender_ = smtp::Path{};
    mail_ = smtp::MailParams{};
    rcpts_.clear();
    refused_rcpts_ = 0;
    last_refusal_.clear();
    bdat_started_ = false;
    bdat_too_big_ = false;
    incoming_.reset();
    lease_.reset();   // after the files it was for are closed
    lease_failed_ = false;
    bdat_deadline_ = {};
    quarantine_.clear();
    discard_ = false;
    discarded_rcpts_ = 0;
    if (s_.chain) s_.chain->end_transaction();
}

void Transaction::log_transaction(std::string_view result, const Reply& r, std::uint64_t size, std::string_view rule,
                                  std::string_view agent) {
    auto ms = std::chrono::duration_cast<milliseconds>(Clock::now() - started_).count();
    metrics::catalog().transactions.with({s_.listener.name, result}).inc();
    std::string qid;
    if (result == "accepted" || result == "quarantined") qid = r.text.substr(r.text.rfind(' ') + 1);
    log::info("smtp.transaction", {{"qid", qid.empty() ? "-" : qid}, {"listener", s_.listener.name}, {"client", s_.client_text()},
                                   {"tls", s_.stream.tls_active() ? s_.stream.tls_description() : "no"},
                                   {"principal", s_.facts.principal.text()}, {"from", sender_.text()},
                                   {"rcpts", join(rcpts_)}, {"nrcpt", rcpts_.size()}, {"refused_rcpts", refused_rcpts_},
                                   {"size", size}, {"result", result}, {"code", r.code}, {"reason", r.summary()},
                                   {"filters", s_.chain ? s_.chain->summary() : std::string("-")},
                                   {"filter_us", s_.chain ? s_.chain->time_summary() : std::string("-")},
                                   {"duration_ms", ms}, {"rule", rule.empty() ? "-" : rule}, {"agent", agent.empty() ? "-" : agent},
                                   {"tracking_id", s_.tracking_id}});
}

}  // namespace rampart::session
