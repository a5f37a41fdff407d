// queue/dsn.cpp — RFC 3464 report construction.
#include "queue/dsn.hpp"

#include <algorithm>
#include <ctime>

#include "smtp/command_parser.hpp"

namespace rampart::queue {
namespace {

constexpr std::string_view kCrlf = "\r\n";

// Client-supplied or peer-supplied text made safe for one header field value.
std::string clean(std::string_view s, std::size_t max = 900) {
    std::string out;
    out.reserve(std::min(s.size(), max));
    for (char c : s) {
        if (out.size() >= max) break;
        auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7F) ? '?' : c;
    }
    return out;
}

// "Name: value" folded at spaces before 78 columns where possible (RFC 5322 §2.2.3).
std::string field(std::string_view name, std::string_view value) {
    std::string out(name);
    out += ": ";
    std::size_t col = out.size();
    std::size_t pos = 0;
    while (pos < value.size()) {
        std::size_t sp = value.find(' ', pos + 1);
        std::string_view word = value.substr(pos, sp == std::string_view::npos ? std::string_view::npos : sp - pos);
        if (col + word.size() > 76 && col > name.size() + 2 && word.front() == ' ') {
            out += kCrlf;
            col = 0;
        }
        out += word;
        col += word.size();
        pos += word.size();
    }
    out += kCrlf;
    return out;
}

// "rfc822;a+2Bb@x" → "rfc822;a+b@x" (RFC 3461 §4.2: addr-type ";" xtext).
std::string original_recipient(std::string_view orcpt) {
    std::size_t semi = orcpt.find(';');
    if (semi == std::string_view::npos) return clean(orcpt);
    return clean(orcpt.substr(0, semi)) + ";" + clean(smtp::decode_xtext(orcpt.substr(semi + 1)));
}

// "192.0.2.1:25" → "192.0.2.1"; "[::1]:25" → "::1"; one of our own hops (a label
// without a port: "maildir", "lmtp", "smarthost", "dns", "local") → empty.
std::string remote_mta(std::string_view remote) {
    if (remote.find(':') == std::string_view::npos) return {};
    if (remote.front() == '[') {
        std::size_t close = remote.find(']');
        return close == std::string_view::npos ? std::string() : std::string(remote.substr(1, close - 1));
    }
    std::size_t colon = remote.rfind(':');
    if (colon != std::string_view::npos && remote.find(':') == colon) return std::string(remote.substr(0, colon));
    return std::string(remote);
}

// A reply of an SMTP or LMTP peer (ours or the recipient's), not a code we made up.
bool peer_reply(const AttemptResult& r) {
    return r.code != 0 && (!remote_mta(r.remote).empty() || r.remote == "smarthost" || r.remote == "lmtp");
}

std::string diagnostic_code(const AttemptResult& r) {
    if (peer_reply(r))
        return "smtp; " + std::to_string(r.code) + (r.status.empty() ? "" : " " + r.status) + " " + clean(r.diagnostic);
    return "X-rampart; " + clean(r.diagnostic.empty() ? "no further information" : r.diagnostic);
}

std::string status_of(const DsnRecipient& r) {
    if (!r.result.status.empty()) return clean(r.result.status, 16);
    switch (r.action) {
        case DsnAction::Failed: return "5.0.0";
        case DsnAction::Delayed: return "4.0.0";
        default: return "2.0.0";
    }
}

// The address a report names: the alias for a member of one, else the recipient.
const std::string& reported_address(const Recipient& r) { return r.alias.empty() ? r.address : r.alias; }

std::string_view headers_of(std::string_view message) {
    std::size_t end = message.find("\r\n\r\n");
    return end == std::string_view::npos ? message : message.substr(0, end + 2);
}

bool has_eight_bit(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) > 127) return true;
    return false;
}

}  // namespace

std::string_view action_name(DsnAction a) {
    switch (a) {
        case DsnAction::Failed: return "failed";
        case DsnAction::Delayed: return "delayed";
        case DsnAction::Delivered: return "delivered";
        case DsnAction::Relayed: return "relayed";
        case DsnAction::Expanded: return "expanded";
    }
    return "failed";
}

bool wants_dsn(unsigned notify, DsnAction action) {
    if (notify & smtp::notify::Never) return false;
    switch (action) {
        case DsnAction::Failed: return notify == 0 || (notify & smtp::notify::Failure);
        case DsnAction::Delayed: return notify == 0 || (notify & smtp::notify::Delay);
        default: return (notify & smtp::notify::Success) != 0;
    }
}

std::string rfc5322_date(std::int64_t t) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday], tm.tm_mday,
                  kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

std::vector<DsnRecipient> success_notices(const Envelope& env, const std::vector<std::size_t>& delivered) {
    std::vector<DsnRecipient> out;
    std::vector<std::string> aliases_done;
    auto delivered_now = [&delivered](std::size_t i) {
        return std::find(delivered.begin(), delivered.end(), i) != delivered.end();
    };
    for (std::size_t i : delivered) {
        const Recipient& r = env.recipients.at(i);
        DsnAction own = r.last.remote == "maildir" ? DsnAction::Delivered : DsnAction::Relayed;
        if (r.alias.empty()) {
            out.push_back({i, own, r.last});
            continue;
        }
        if (std::find(aliases_done.begin(), aliases_done.end(), r.alias) != aliases_done.end()) continue;
        aliases_done.push_back(r.alias);
        std::size_t members = 0;
        bool earlier = false;   // a member delivered by an earlier attempt: the notice went then
        for (std::size_t k = 0; k < env.recipients.size(); ++k) {
            const Recipient& m = env.recipients[k];
            if (m.alias != r.alias) continue;
            ++members;
            if (m.done && m.last.outcome != Outcome::Failed && !delivered_now(k)) earlier = true;
        }
        if (!earlier) out.push_back({i, members > 1 ? DsnAction::Expanded : own, r.last});
    }
    return out;
}

Dsn build_dsn(const DsnRequest& request, const Envelope& env, std::string_view message) {
    // Members of one alias are one recipient to the sender: its first entry stands for all.
    DsnRequest req = request;
    std::vector<std::string> aliases;
    std::erase_if(req.recipients, [&](const DsnRecipient& r) {
        const std::string& a = env.recipients.at(r.index).alias;
        if (a.empty()) return false;
        if (std::find(aliases.begin(), aliases.end(), a) != aliases.end()) return true;
        aliases.push_back(a);
        return false;
    });
    DsnAction kind = req.recipients.empty() ? DsnAction::Failed : req.recipients.front().action;
    bool failure = kind == DsnAction::Failed;
    bool full = failure && env.ret == smtp::Ret::Full;
    std::string host = clean(req.reporting_mta);
    std::string boundary = "=_rampart_" + clean(req.unique);
    std::string_view returned = full ? message : headers_of(message);
    // RFC 6533: a report on an SMTPUTF8 message whose addresses or returned text are not
    // ASCII uses the "global" types, and utf-8 address types for UTF-8 addresses.
    bool global = false;
    if (env.smtputf8) {
        global = has_eight_bit(returned) || has_eight_bit(env.sender);
        for (const DsnRecipient& r : req.recipients) global = global || has_eight_bit(env.recipients.at(r.index).address);
    }

    std::string subject = failure                    ? "Undelivered Mail Returned to Sender"
                          : kind == DsnAction::Delayed ? "Delayed Mail (still being retried)"
                                                       : "Successful Mail Delivery Report";
    std::string out;
    out.reserve(2048 + returned.size());
    out += field("From", "Mail Delivery System <MAILER-DAEMON@" + host + ">");
    out += field("To", "<" + clean(env.sender) + ">");
    out += field("Subject", subject);
    out += field("Date", rfc5322_date(req.now));
    out += field("Message-ID", "<" + clean(req.unique) + ".dsn@" + host + ">");
    out += field("Auto-Submitted", "auto-replied");   // RFC 3834: never answered automatically
    out += field("MIME-Version", "1.0");
    out += field("Content-Type", "multipart/report; report-type=delivery-status; boundary=\"" + boundary + "\"");
    out += kCrlf;
    out += "This is a MIME-encapsulated delivery status notification (RFC 3464).\r\n\r\n";

    // 1. Human-readable part.
    out += "--" + boundary + "\r\n";
    std::string human = "This is the mail delivery system at " + host + ".\r\n\r\n";
    if (failure)
        human += "Your message could not be delivered to the recipients below. This is a permanent\r\n"
               "error; the message will not be tried again.\r\n\r\n";
    else if (kind == DsnAction::Delayed)
        human += "Your message has not yet been delivered to the recipients below. It is still\r\n"
               "being retried; you need not resend it.\r\n" +
               (req.will_retry_until ? "Delivery will be tried until " + rfc5322_date(req.will_retry_until) + ".\r\n"
                                     : std::string()) +
               "\r\n";
    else
        human += "Your message was delivered (or handed on) to the recipients below.\r\n\r\n";
    for (const DsnRecipient& r : req.recipients) {
        const Recipient& rc = env.recipients.at(r.index);
        human += "<" + clean(reported_address(rc)) + ">: " + std::string(action_name(r.action)) + ", " + status_of(r);
        if (rc.alias.empty() && r.result.code) human += ", " + std::to_string(r.result.code);
        if (rc.alias.empty() && !r.result.diagnostic.empty()) human += " " + clean(r.result.diagnostic);
        human += "\r\n";
    }
    human += "\r\n";
    out += "Content-Type: text/plain; charset=utf-8\r\n";
    if (has_eight_bit(human)) out += "Content-Transfer-Encoding: 8bit\r\n";
    out += kCrlf;
    out += human;

    // 2. Machine-readable part (RFC 3464 §2).
    out += "--" + boundary + "\r\n";
    out += global ? "Content-Type: message/global-delivery-status\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                  : "Content-Type: message/delivery-status\r\n\r\n";
    out += field("Reporting-MTA", "dns; " + host);
    if (!env.envid.empty()) out += field("Original-Envelope-Id", clean(smtp::decode_xtext(env.envid)));
    if (!env.helo.empty()) out += field("Received-From-MTA", "dns; " + clean(env.helo) + (env.client.empty() ? "" : " ([" + clean(env.client) + "])"));
    out += field("Arrival-Date", rfc5322_date(env.received_at));
    for (const DsnRecipient& r : req.recipients) {
        const Recipient& rc = env.recipients.at(r.index);
        out += kCrlf;
        const std::string& final_rcpt = reported_address(rc);
        if (!rc.orcpt.empty()) out += field("Original-Recipient", original_recipient(rc.orcpt));
        out += field("Final-Recipient", std::string(has_eight_bit(final_rcpt) ? "utf-8; " : "rfc822; ") + clean(final_rcpt));
        out += field("Action", action_name(r.action));
        out += field("Status", status_of(r));
        if (!rc.alias.empty()) {
            // Nothing about the member: not its address, its host or its peer's words.
            if (r.action == DsnAction::Failed)
                out += field("Diagnostic-Code", "X-rampart; delivery to an address of this alias failed");
            else if (r.action == DsnAction::Delayed)
                out += field("Diagnostic-Code", "X-rampart; delivery to an address of this alias is delayed");
        } else {
            if (std::string mta = remote_mta(r.result.remote); !mta.empty()) out += field("Remote-MTA", "dns; " + clean(mta));
            if (r.result.code != 0 || !r.result.diagnostic.empty()) out += field("Diagnostic-Code", diagnostic_code(r.result));
        }
        out += field("Last-Attempt-Date", rfc5322_date(req.now));
        if (kind == DsnAction::Delayed && req.will_retry_until) out += field("Will-Retry-Until", rfc5322_date(req.will_retry_until));
    }
    out += kCrlf;

    // 3. The original: whole message or headers only.
    bool eight_bit_original = has_eight_bit(returned);
    out += "--" + boundary + "\r\n";
    if (global) out += full ? "Content-Type: message/global\r\n" : "Content-Type: message/global-headers\r\n";
    else out += full ? "Content-Type: message/rfc822\r\n" : "Content-Type: text/rfc822-headers\r\n";
    if (eight_bit_original) out += "Content-Transfer-Encoding: 8bit\r\n";
    out += kCrlf;
    out += returned;
    if (returned.size() < 2 || returned.substr(returned.size() - 2) != kCrlf) out += kCrlf;
    out += "\r\n--" + boundary + "--\r\n";
    bool eight_bit = has_eight_bit(out);   // before the move below
    return Dsn{std::move(out), eight_bit};
}

}  // namespace rampart::queue
