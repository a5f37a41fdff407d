// Fuzz target: the spool file reader (queue/spool_format), fed any bytes as a spool file,
// as Spool::recover() does after a crash (parse_spool_file, then finished()). A torn or
// corrupted file is refused or read, never a crash: a file read has its message and end
// record inside the file, recipients, and pending DSNs that name recipients; written
// again (encode_header and the state records) it reads back to the same envelope.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "queue/spool_format.hpp"

using namespace rampart::queue;

namespace {

bool same_result(const AttemptResult& a, const AttemptResult& b) {
    return a.outcome == b.outcome && a.code == b.code && a.status == b.status && a.diagnostic == b.diagnostic &&
           a.remote == b.remote;
}

bool same(const Envelope& a, const Envelope& b) {
    if (a.id != b.id || a.received_at != b.received_at || a.listener != b.listener || a.client != b.client ||
        a.helo != b.helo || a.tls != b.tls || a.principal != b.principal || a.sender != b.sender || a.body != b.body ||
        a.smtputf8 != b.smtputf8 || a.ret != b.ret || a.envid != b.envid || a.size != b.size ||
        a.attempts != b.attempts || a.next_attempt != b.next_attempt || a.held != b.held ||
        a.quarantine != b.quarantine || a.delay_warned != b.delay_warned || a.dsn_pending != b.dsn_pending ||
        a.recipients.size() != b.recipients.size())
        return false;
    for (std::size_t i = 0; i < a.recipients.size(); ++i) {
        const Recipient &x = a.recipients[i], &y = b.recipients[i];
        if (x.address != y.address || x.notify != y.notify || x.orcpt != y.orcpt || x.done != y.done ||
            x.alias != y.alias || !same_result(x.last, y.last))
            return false;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto parsed = parse_spool_file(in);
    if (!parsed) return 0;
    const Envelope& e = parsed->envelope;
    // The message and the end record lie inside the file.
    if (parsed->message_offset > size || e.size > size - parsed->message_offset ||
        size - parsed->message_offset - e.size < kEndRecord.size() ||
        in.substr(parsed->message_offset + e.size, kEndRecord.size()) != kEndRecord)
        std::abort();
    if (e.id.empty() || e.recipients.empty()) std::abort();
    for (std::size_t i = 0; i < e.dsn_pending.size(); ++i) {
        std::size_t r = e.dsn_pending[i];
        if (r >= e.recipients.size() || (i > 0 && r <= e.dsn_pending[i - 1])) std::abort();
        if (!e.recipients[r].done || e.recipients[r].last.outcome != Outcome::Failed) std::abort();
    }
    (void)finished(e);
    for (const Recipient& r : e.recipients) (void)r.mailbox();

    // Written again as the spool writes it, it reads back the same.
    std::string file = encode_header(e);
    file += in.substr(parsed->message_offset, e.size);
    file += kEndRecord;
    file += encode_principal(e);
    for (std::size_t i = 0; i < e.recipients.size(); ++i) {
        const Recipient& r = e.recipients[i];
        if (r.done && r.last.outcome == Outcome::Failed) {
            file += encode_failed(i, r.last);
            bool pending = false;
            for (std::size_t p : e.dsn_pending) pending = pending || p == i;
            if (!pending) file += encode_notified(i);
        } else if (r.done) {
            file += encode_done(i);
        }
    }
    if (e.attempts != 0 || e.next_attempt != 0) file += encode_attempt(e.attempts, e.next_attempt);
    if (e.delay_warned) file += kWarnedRecord;
    if (!e.quarantine.empty()) file += encode_quarantine(e.quarantine);
    if (e.held && e.quarantine.empty()) file += kHoldRecord;
    if (!e.held) file += kReleaseRecord;
    auto again = parse_spool_file(file);
    if (!again || !same(e, again->envelope)) std::abort();
    return 0;
}
