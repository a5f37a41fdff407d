// filter/milter.cpp — the milter conversation and the agent (see milter.hpp).
#include "filter/milter.hpp"

#include <atomic>
#include <cstdio>
#include <variant>

#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "smtp/address.hpp"
#include "util/log.hpp"

namespace rampart::filter {
namespace {

using milter::Command;
using RK = milter::Reply::Kind;
using AK = MilterAnswer::Kind;

// Bounds on what one end of message may carry: modifications, and a replaced body.
constexpr std::size_t kMaxModifications = 10000;
constexpr std::size_t kMaxReplacedBody = 64u * 1024 * 1024;

std::uint32_t action_needed(RK k) {
    switch (k) {
        case RK::AddHeader:
        case RK::InsertHeader: return milter::kAddHeaders;
        case RK::ChangeHeader: return milter::kChangeHeaders;
        case RK::AddRcpt: return milter::kAddRcpt | milter::kAddRcptPar;
        case RK::DelRcpt: return milter::kDelRcpt;
        case RK::ReplaceBody: return milter::kChangeBody;
        case RK::Quarantine: return milter::kQuarantine;
        case RK::ChangeFrom: return milter::kChangeFrom;
        default: return 0;
    }
}

std::string endpoint_text(const config::Endpoint& e) { return e.port ? "inet:" + e.text() : "unix:" + e.host; }

// A queue-style id for the "i" macro: unique within this process.
std::string next_message_id() {
    static std::atomic<std::uint64_t> counter{0};
    static const std::uint64_t base = static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    char buf[32];
    std::snprintf(buf, sizeof buf, "R%llX", static_cast<unsigned long long>((base & 0xffffffffffull) * 1000 + counter++));
    return buf;
}

}  // namespace

std::string_view answer_name(MilterAnswer::Kind k) {
    switch (k) {
        case AK::Continue: return "continue";
        case AK::Accept: return "accept";
        case AK::Reject: return "reject";
        case AK::Tempfail: return "tempfail";
        case AK::Discard: return "discard";
        case AK::Error: return "error";
    }
    return "?";
}

// ---------------------------------------------------------------- MilterClient

MilterClient::MilterClient(asio::any_io_executor ex, config::Endpoint address, MilterTimeouts timeouts)
    : ex_(std::move(ex)), address_(std::move(address)), timeouts_(timeouts) {}

MilterClient::~MilterClient() {
    if (socket_ && usable_ && !busy_) send_now(milter::packet(Command::Quit));
    if (socket_) {
        std::error_code ec;
        socket_->close(ec);
    }
}

MilterAnswer MilterClient::failed(std::string error) {
    usable_ = false;
    if (socket_) {
        std::error_code ec;
        socket_->close(ec);
    }
    MilterAnswer a;
    a.kind = AK::Error;
    a.error = std::move(error);
    return a;
}

void MilterClient::send_now(const std::string& bytes) {
    if (!socket_ || !socket_->is_open()) return;
    std::error_code ec;
    // A few bytes into an idle connection's send buffer: does not block.
    asio::write(*socket_, asio::buffer(bytes), ec);
    if (ec) usable_ = false;
}

void MilterClient::abort() {
    if (!socket_ || !usable_) return;
    if (busy_) {   // a command was interrupted (the chain's deadline): the conversation is lost
        failed("interrupted");
        return;
    }
    send_now(milter::packet(Command::Abort));
}

asio::awaitable<MilterAnswer> MilterClient::timed(asio::awaitable<MilterAnswer> op, std::chrono::milliseconds limit,
                                                  std::string what) {
    using namespace asio::experimental::awaitable_operators;
    if (!usable_) co_return failed("the milter connection was lost earlier");
    if (busy_) co_return failed("an earlier command was interrupted");
    busy_ = true;
    std::string failure;
    try {
        asio::steady_timer timer(ex_, limit);
        asio::awaitable<void> deadline = timer.async_wait(asio::use_awaitable);
        auto race = std::move(op) || std::move(deadline);
        std::variant<MilterAnswer, std::monostate> r = co_await std::move(race);
        busy_ = false;
        if (r.index() == 0) co_return std::get<0>(std::move(r));
        failure = "no reply to " + what + " within " + std::to_string(limit.count()) + " ms";
    } catch (const std::exception& e) {
        busy_ = false;
        failure = "milter " + what + " failed: " + e.what();
    }
    co_return failed(std::move(failure));
}

asio::awaitable<Result<milter::Reply>> MilterClient::read_reply() {
    std::error_code ec;
    std::string head(4, '\0');
    co_await asio::async_read(*socket_, asio::buffer(head), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return Error{0, ec == asio::error::eof ? "the milter closed the connection" : "reading from the milter: " + ec.message()};
    Result<std::size_t> n = milter::packet_length(head);
    if (!n) co_return n.error();
    std::string pkt(*n, '\0');
    co_await asio::async_read(*socket_, asio::buffer(pkt), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return Error{0, ec == asio::error::eof ? "the milter closed the connection" : "reading from the milter: " + ec.message()};
    co_return milter::parse_reply(pkt);
}

asio::awaitable<MilterAnswer> MilterClient::step(std::string packets, bool reply_expected, bool end_of_message) {
    std::error_code ec;
    co_await asio::async_write(*socket_, asio::buffer(packets), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return failed("writing to the milter: " + ec.message());
    MilterAnswer a;
    a.kind = AK::Continue;
    skipped_ = false;
    if (!reply_expected) co_return a;
    std::size_t replaced = 0;
    for (;;) {
        Result<milter::Reply> r = co_await read_reply();
        if (!r) co_return failed(r.error().message);
        milter::Reply& m = *r;
        if (m.kind == RK::Progress) continue;
        if (m.is_modification()) {
            if (!end_of_message) co_return failed(std::string(milter::kind_name(m.kind)) + " before end of message");
            if (!(actions_ & action_needed(m.kind)))
                co_return failed(std::string(milter::kind_name(m.kind)) + " without asking for it in the negotiation");
            if (a.modifications.size() >= kMaxModifications) co_return failed("more than 10000 modifications");
            if (m.kind == RK::ReplaceBody && (replaced += m.text.size()) > kMaxReplacedBody)
                co_return failed("replacement body over 64 MiB");
            a.modifications.push_back(std::move(m));
            continue;
        }
        switch (m.kind) {
            case RK::Continue: co_return a;
            case RK::Skip: skipped_ = true; co_return a;
            case RK::Accept: a.kind = AK::Accept; co_return a;
            case RK::Discard: a.kind = AK::Discard; co_return a;
            case RK::Reject: a.kind = AK::Reject; co_return a;
            case RK::Tempfail:
            case RK::ConnFail: a.kind = AK::Tempfail; co_return a;
            case RK::ReplyCode:
                a.kind = m.reply.permanent() ? AK::Reject : AK::Tempfail;
                a.reply = m.reply;
                co_return a;
            case RK::Shutdown: co_return failed("the milter is shutting down");
            default: co_return failed("unexpected " + std::string(milter::kind_name(m.kind)));
        }
    }
}

asio::awaitable<MilterAnswer> MilterClient::do_open(MilterConnectInfo info) {
    socket_ = std::make_unique<asio::generic::stream_protocol::socket>(ex_);
    std::error_code ec;
    if (address_.port == 0) {
        asio::generic::stream_protocol::endpoint ep{asio::local::stream_protocol::endpoint(address_.host)};
        co_await socket_->async_connect(ep, asio::redirect_error(asio::use_awaitable, ec));
    } else {
        asio::ip::address ip = asio::ip::make_address(address_.host, ec);
        if (ec) co_return failed("bad milter address " + address_.host);
        asio::generic::stream_protocol::endpoint ep{asio::ip::tcp::endpoint(ip, address_.port)};
        co_await socket_->async_connect(ep, asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) co_return failed("cannot connect to the milter at " + endpoint_text(address_) + ": " + ec.message());
    std::string neg = milter::optneg_packet();
    co_await asio::async_write(*socket_, asio::buffer(neg), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return failed("writing to the milter: " + ec.message());
    Result<milter::Reply> r = co_await read_reply();
    if (!r) co_return failed(r.error().message);
    if (r->kind != RK::OptNeg) co_return failed("no option negotiation (" + std::string(milter::kind_name(r->kind)) + ")");
    if (r->version < 2 || r->version > milter::kVersion) co_return failed("milter protocol version " + std::to_string(r->version));
    if (r->actions & ~milter::kOfferedActions) co_return failed("the milter asks for actions that were not offered");
    if (r->protocol & ~milter::kOfferedProtocol) co_return failed("the milter asks for protocol steps that were not offered");
    actions_ = r->actions;
    protocol_ = r->protocol;
    std::string packets = milter::macro_packet(Command::Connect, info.macros);
    bool send = !(protocol_ & milter::kNoConnect);
    if (send) packets += milter::connect_packet(info.hostname, info.family, info.port, info.address);
    asio::awaitable<MilterAnswer> op = step(std::move(packets), send && !(protocol_ & milter::kNrConnect), false);
    co_return co_await std::move(op);
}

asio::awaitable<MilterAnswer> MilterClient::open(const MilterConnectInfo& info) {
    // Named locals: GCC 12 mishandles temporaries inside co_await expressions.
    asio::awaitable<MilterAnswer> op = do_open(info);
    asio::awaitable<MilterAnswer> bounded = timed(std::move(op), timeouts_.connect, "connect");
    co_return co_await std::move(bounded);
}

asio::awaitable<MilterAnswer> MilterClient::helo(std::string_view helo) {
    if (protocol_ & milter::kNoHelo) {
        MilterAnswer skip;
        skip.kind = AK::Continue;
        co_return skip;
    }
    asio::awaitable<MilterAnswer> op = step(milter::helo_packet(helo), !(protocol_ & milter::kNrHelo), false);
    asio::awaitable<MilterAnswer> bounded = timed(std::move(op), timeouts_.command, "HELO");
    co_return co_await std::move(bounded);
}

asio::awaitable<MilterAnswer> MilterClient::mail(std::string_view sender, const Macros& macros) {
    std::string packets = milter::macro_packet(Command::Mail, macros);
    bool send = !(protocol_ & milter::kNoMail);
    if (send) packets += milter::mail_packet({"<" + std::string(sender) + ">"});
    asio::awaitable<MilterAnswer> op = step(std::move(packets), send && !(protocol_ & milter::kNrMail), false);
    asio::awaitable<MilterAnswer> bounded = timed(std::move(op), timeouts_.command, "MAIL");
    co_return co_await std::move(bounded);
}

asio::awaitable<MilterAnswer> MilterClient::rcpt(std::string_view recipient, const Macros& macros) {
    std::string packets = milter::macro_packet(Command::Rcpt, macros);
    bool send = !(protocol_ & milter::kNoRcpt);
    if (send) packets += milter::rcpt_packet({"<" + std::string(recipient) + ">"});
    asio::awaitable<MilterAnswer> op = step(std::move(packets), send && !(protocol_ & milter::kNrRcpt), false);
    asio::awaitable<MilterAnswer> bounded = timed(std::move(op), timeouts_.command, "RCPT");
    co_return co_await std::move(bounded);
}

asio::awaitable<MilterAnswer> MilterClient::do_message(std::string_view message, Macros macros) {
    MilterAnswer a;
    std::string packets = milter::macro_packet(Command::Data, macros);
    bool send = !(protocol_ & milter::kNoData);
    if (send) packets += milter::packet(Command::Data);
    {
        asio::awaitable<MilterAnswer> op = step(std::move(packets), send && !(protocol_ & milter::kNrData), false);
        a = co_await std::move(op);
    }
    if (a.kind != AK::Continue) co_return a;
    std::size_t body_offset = 0;
    std::vector<milter::HeaderField> fields = milter::header_fields(message, body_offset);
    if (!(protocol_ & milter::kNoHeaders)) {
        bool leading_space = protocol_ & milter::kHeaderLeadingSpace;
        for (const milter::HeaderField& f : fields) {
            std::string_view value = f.value;
            if (!leading_space)
                while (!value.empty() && (value[0] == ' ' || value[0] == '\t')) value.remove_prefix(1);
            asio::awaitable<MilterAnswer> op = step(milter::header_packet(f.name, value), !(protocol_ & milter::kNrHeader), false);
            a = co_await std::move(op);
            if (a.kind != AK::Continue) co_return a;
        }
    }
    if (!(protocol_ & milter::kNoEoh)) {
        asio::awaitable<MilterAnswer> op = step(milter::packet(Command::EndOfHeaders), !(protocol_ & milter::kNrEoh), false);
        a = co_await std::move(op);
        if (a.kind != AK::Continue) co_return a;
    }
    if (!(protocol_ & milter::kNoBody)) {
        std::string body = milter::crlf_body(message.substr(body_offset));
        for (std::size_t pos = 0; pos < body.size(); pos += milter::kBodyChunk) {
            asio::awaitable<MilterAnswer> op =
                step(milter::body_packet(std::string_view(body).substr(pos, milter::kBodyChunk)), !(protocol_ & milter::kNrBody), false);
            a = co_await std::move(op);
            if (a.kind != AK::Continue) co_return a;
            if (skipped_) break;
        }
    }
    packets = milter::macro_packet(Command::EndOfBody, macros) + milter::packet(Command::EndOfBody);
    asio::awaitable<MilterAnswer> op = step(std::move(packets), true, true);
    co_return co_await std::move(op);
}

asio::awaitable<MilterAnswer> MilterClient::message(std::string_view message, const Macros& macros) {
    asio::awaitable<MilterAnswer> op = do_message(message, macros);
    asio::awaitable<MilterAnswer> bounded = timed(std::move(op), timeouts_.content, "the message");
    co_return co_await std::move(bounded);
}

// ---------------------------------------------------------------- the agent

namespace {

class MilterRun final : public AgentRun {
public:
    MilterRun(const MilterAgent& agent, const SessionInfo& session) : agent_(agent), session_(session) {}

    asio::awaitable<AgentVerdict> on(Stage stage, const MessageView& view) override {
        if (session_done_) co_return AgentVerdict::proceed();
        if (!client_) {
            asio::any_io_executor ex = co_await asio::this_coro::executor;
            client_ = std::make_unique<MilterClient>(ex, agent_.settings().address, agent_.timeouts());
            MilterConnectInfo info = connect_info();
            MilterAnswer a = co_await client_->open(info);
            AgentVerdict v = verdict(Stage::Connect, a);
            if (stage == Stage::Connect || v.kind != AgentVerdict::Kind::Continue || session_done_) co_return v;
            // A new connection later in the session (the last one failed): the milter hears
            // the HELO the client gave before.
            if (stage != Stage::Helo && !view.helo.empty()) {
                MilterAnswer h = co_await client_->helo(view.helo);
                AgentVerdict hv = verdict(Stage::Helo, h);
                if (hv.kind != AgentVerdict::Kind::Continue || session_done_) co_return hv;
            }
        }
        if (stage == Stage::Connect) co_return AgentVerdict::proceed();
        if (stage == Stage::Helo) {
            MilterAnswer a = co_await client_->helo(view.helo);
            co_return verdict(stage, a);
        }
        if (message_done_) co_return AgentVerdict::proceed();
        if (stage == Stage::MailFrom) {
            in_message_ = true;
            message_id_ = next_message_id();
            Macros macros{{"i", message_id_}, {"{mail_addr}", view.sender ? view.sender->text() : ""}};
            if (session_.principal.kind == policy::Principal::Kind::User) {
                macros.push_back({"{auth_authen}", session_.principal.name});
                // OpenDKIM decides "sign" by {auth_type} being set.
                macros.push_back({"{auth_type}", session_.principal.mechanism.empty() ? "unknown" : session_.principal.mechanism});
            }
            std::string sender = view.sender ? view.sender->text() : "";
            MilterAnswer a = co_await client_->mail(sender, macros);
            co_return verdict(stage, a);
        }
        if (stage == Stage::RcptTo) {
            std::string rcpt = view.rcpt ? view.rcpt->text() : "";
            Macros macros{{"{rcpt_addr}", rcpt}};
            MilterAnswer a = co_await client_->rcpt(rcpt, macros);
            co_return verdict(stage, a);
        }
        // End of data.
        if (discard_) co_return AgentVerdict::discard(rule(), reason("discarded the message at RCPT TO"));
        Macros macros{{"i", message_id_}};
        MilterAnswer a = co_await client_->message(view.message, macros);
        eom_done_ = true;
        AgentVerdict v = verdict(stage, a);
        if (v.kind == AgentVerdict::Kind::Continue && (a.kind == AK::Continue || a.kind == AK::Accept))
            co_return modifications(view, a.modifications);
        co_return v;
    }

    void end_transaction() override {
        if (client_ && in_message_ && !eom_done_ && !session_done_) client_->abort();
        in_message_ = eom_done_ = message_done_ = discard_ = false;
    }

private:
    std::string rule() const { return "milters." + agent_.settings().name; }
    std::string reason(std::string_view what) const { return "milter " + agent_.settings().name + " " + std::string(what); }

    MilterConnectInfo connect_info() const {
        MilterConnectInfo info;
        std::string ip = session_.client.text();
        info.address = ip;
        info.family = ip.find(':') != std::string::npos ? '6' : '4';
        info.hostname = "[" + ip + "]";
        info.port = session_.client_port;
        info.macros = {{"j", agent_.hostname()}, {"{daemon_name}", session_.listener}, {"_", info.hostname + " [" + ip + "]"},
                       {"{client_addr}", ip}, {"{client_port}", std::to_string(info.port)}, {"{client_name}", info.hostname}};
        return info;
    }

    AgentVerdict verdict(Stage stage, const MilterAnswer& a) {
        std::string at(stage_name(stage));
        switch (a.kind) {
            case AK::Continue: return AgentVerdict::proceed();
            case AK::Accept:
                if (stage == Stage::Connect || stage == Stage::Helo) session_done_ = true;
                else message_done_ = true;
                return AgentVerdict::proceed(rule(), reason("accepted at " + at));
            case AK::Reject: {
                std::string what = stage == Stage::RcptTo ? "recipient" : stage == Stage::Connect || stage == Stage::Helo ? "connection" : "message";
                smtp::Reply r = a.reply ? *a.reply : smtp::Reply(550, "5.7.1", what + " refused by policy");
                return AgentVerdict::refuse(r, rule(), reason("rejected at " + at + ": " + r.summary()));
            }
            case AK::Tempfail: {
                smtp::Reply r = a.reply ? *a.reply : smtp::Reply(451, "4.7.1", "try again later");
                return AgentVerdict::refuse(r, rule(), reason("tempfailed at " + at + ": " + r.summary()));
            }
            case AK::Discard:
                if (stage == Stage::RcptTo) {   // libmilter: discard the whole message, not this recipient
                    discard_ = true;
                    return AgentVerdict::proceed(rule(), reason("discards the message (at rcpt)"));
                }
                message_done_ = true;   // nothing more of this message goes to the milter
                return AgentVerdict::discard(rule(), reason("discarded at " + at));
            case AK::Error: break;
        }
        const config::MilterSettings& s = agent_.settings();
        bool accept = s.on_error == config::OnEngineError::Accept;
        log::event(log::Level::Warning, "milter.error",
                   {{"milter", s.name}, {"address", endpoint_text(s.address)}, {"stage", at}, {"error", a.error},
                    {"on_error", accept ? "accept" : "tempfail"}});
        if (accept) {
            session_done_ = true;
            return AgentVerdict::proceed(rule() + ".on_error", reason("failed: " + a.error + " (on_error = accept: skipped for this session)"));
        }
        // The conversation is over; the next transaction of this session tries a new connection.
        client_.reset();
        return AgentVerdict::refuse(smtp::Reply(451, "4.7.1", "message filter unavailable; try again later"), rule() + ".on_error",
                                    reason("failed: " + a.error));
    }

    AgentVerdict modifications(const MessageView& view, std::vector<milter::Reply>& mods) {
        Edits edits;
        std::vector<milter::Reply> message_mods;
        std::string quarantine, done;
        for (milter::Reply& m : mods) {
            switch (m.kind) {
                case RK::AddRcpt:
                case RK::DelRcpt:
                    if (!smtp::parse_mailbox(m.text)) {
                        log::event(log::Level::Warning, "milter.bad_recipient", {{"milter", agent_.settings().name}, {"address", m.text}});
                        break;
                    }
                    (m.kind == RK::AddRcpt ? edits.add_recipients : edits.remove_recipients).push_back(m.text);
                    break;
                case RK::Quarantine:
                    if (quarantine.empty()) quarantine = m.text;
                    break;
                case RK::ChangeFrom:
                    // "<>" is the null sender; anything else must be a mailbox.
                    if (m.text.empty()) edits.sender = "";
                    else if (smtp::parse_mailbox(m.text)) edits.sender = m.text;
                    else log::event(log::Level::Warning, "milter.bad_sender", {{"milter", agent_.settings().name}, {"address", m.text}});
                    break;
                default: message_mods.push_back(std::move(m)); break;
            }
        }
        for (const milter::Reply& m : message_mods) done += std::string(done.empty() ? "" : ", ") + std::string(milter::kind_name(m.kind));
        if (!message_mods.empty()) edits.replace_message = milter::edit_message(view.message, message_mods);
        if (!edits.add_recipients.empty()) done += std::string(done.empty() ? "" : ", ") + "addrcpt";
        if (!edits.remove_recipients.empty()) done += std::string(done.empty() ? "" : ", ") + "delrcpt";
        AgentVerdict v = quarantine.empty() ? AgentVerdict::proceed(done.empty() ? "" : rule(), done.empty() ? "" : reason("edited: " + done))
                                            : AgentVerdict::quarantine(rule(), reason("quarantined the message: " + quarantine));
        v.edits = std::move(edits);
        return v;
    }

    const MilterAgent& agent_;
    const SessionInfo& session_;   // the ChainRun's: it sees the principal once authenticated
    std::unique_ptr<MilterClient> client_;
    bool session_done_ = false, message_done_ = false, in_message_ = false, eom_done_ = false, discard_ = false;
    std::string message_id_;
};

}  // namespace

MilterAgent::MilterAgent(config::MilterSettings settings, std::string hostname)
    : settings_(std::move(settings)), hostname_(std::move(hostname)), agent_name_("milter:" + settings_.name) {}

MilterTimeouts MilterAgent::timeouts() const {
    return {settings_.connect_timeout, settings_.command_timeout, settings_.content_timeout};
}

std::chrono::milliseconds MilterAgent::timeout() const {
    return settings_.connect_timeout + std::max(settings_.command_timeout, settings_.content_timeout) + std::chrono::seconds(5);
}

std::unique_ptr<AgentRun> MilterAgent::start(const SessionInfo& session) const { return std::make_unique<MilterRun>(*this, session); }

// ---------------------------------------------------------------- the antivirus engine

namespace {

ClamdReply scan_failed(std::string text) { return {ClamdReply::Kind::Error, {}, std::move(text)}; }

asio::awaitable<ClamdReply> scan_once(MilterClient& c, std::string_view message) {
    auto verdict = [](const MilterAnswer& a, bool at_end) -> std::optional<ClamdReply> {
        switch (a.kind) {
            case AK::Continue: return std::nullopt;
            case AK::Accept: return ClamdReply{ClamdReply::Kind::Clean, {}, {}};
            case AK::Reject:
            case AK::Discard: {
                std::string text = a.reply ? a.reply->text : "rejected by the milter";
                if (a.kind == AK::Discard) text = "discarded by the milter";
                return ClamdReply{ClamdReply::Kind::Infected, text, {}};
            }
            case AK::Tempfail: return ClamdReply{ClamdReply::Kind::Error, {}, "the milter tempfailed" + (a.reply ? ": " + a.reply->text : std::string())};
            case AK::Error: return ClamdReply{ClamdReply::Kind::Error, {}, a.error};
        }
        (void)at_end;
        return std::nullopt;
    };
    MilterConnectInfo info;
    info.hostname = "localhost";
    info.address = "127.0.0.1";
    info.macros.emplace_back("j", "localhost");
    info.macros.emplace_back("{daemon_name}", "rampart-antivirus");
    MilterAnswer a = co_await c.open(info);
    if (auto v = verdict(a, false)) co_return *v;
    a = co_await c.helo("localhost");
    if (auto v = verdict(a, false)) co_return *v;
    std::string id = next_message_id();
    Macros mail_macros{{"i", id}, {"{mail_addr}", ""}};
    a = co_await c.mail("", mail_macros);
    if (auto v = verdict(a, false)) co_return *v;
    Macros rcpt_macros{{"{rcpt_addr}", "postmaster"}};
    a = co_await c.rcpt("postmaster", rcpt_macros);
    if (auto v = verdict(a, false)) co_return *v;
    Macros data_macros{{"i", id}};
    a = co_await c.message(message, data_macros);
    if (auto v = verdict(a, true)) {
        if (v->kind != ClamdReply::Kind::Clean) co_return *v;
    }
    for (const milter::Reply& m : a.modifications)
        if (m.kind == RK::Quarantine) co_return ClamdReply{ClamdReply::Kind::Infected, m.text, {}};
    co_return ClamdReply{ClamdReply::Kind::Clean, {}, {}};
}

}  // namespace

asio::awaitable<ClamdReply> milter_scan(const config::Endpoint& address, std::string_view message, std::chrono::milliseconds timeout) {
    using namespace asio::experimental::awaitable_operators;
    try {
        auto ex = co_await asio::this_coro::executor;
        // Every step has the whole scan's deadline; the race below bounds their sum.
        MilterClient client(ex, address, MilterTimeouts{timeout, timeout, timeout});
        asio::steady_timer timer(ex, timeout);
        asio::awaitable<ClamdReply> call = scan_once(client, message);
        asio::awaitable<void> deadline = timer.async_wait(asio::use_awaitable);
        auto race = std::move(call) || std::move(deadline);
        std::variant<ClamdReply, std::monostate> r = co_await std::move(race);
        if (r.index() == 0) co_return std::get<0>(std::move(r));
    } catch (const std::exception& e) {
        co_return scan_failed(std::string("milter scan failed: ") + e.what());
    }
    co_return scan_failed("no verdict from the milter within " + std::to_string(timeout.count()) + " ms");
}

}  // namespace rampart::filter
