// session/received.cpp — Received header text (see received.hpp).
#include "session/received.hpp"

#include "tracking/tracking_id.hpp"

namespace rampart::session {

std::string rfc5322_date(std::time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    return buf;
}

std::string protocol_name(const ReceivedFacts& f) {
    std::string p = f.smtputf8 ? "UTF8SMTP" : (f.esmtp ? "ESMTP" : "SMTP");
    if (f.tls) p += "S";
    if (f.authenticated) p += "A";   // RFC 3848
    return p;
}

std::string received_header(const ReceivedFacts& f) {
    std::string h = "Received: from " + f.helo + " ([" + f.client_ip + "])\r\n\tby " + f.hostname + " (rampart) with " +
                    protocol_name(f) + " id " + f.id + "\r\n";
    if (f.tls) h += "\t(" + f.tls_description + ")\r\n";
    if (!f.server_principal.empty()) h += "\t(authenticated as " + f.server_principal + " by TLS client certificate)\r\n";
    if (!f.single_recipient.empty()) h += "\tfor <" + f.single_recipient + ">";
    else h += "\t";
    h += "; " + rfc5322_date(f.when) + "\r\n";
    return h;
}

}  // namespace rampart::session

namespace rampart::session {

std::size_t received_header_max(ReceivedFacts f) {
    f.id.assign(32, 'X');                 // queue ids are 18 characters
    f.single_recipient.assign(256, 'x');
    f.smtputf8 = true;                    // the longest protocol name
    if (f.tls && f.tls_description.size() < kTlsDescriptionMax) f.tls_description.resize(kTlsDescriptionMax, 'x');
    return received_header(f).size();
}

std::uint64_t message_size_limit(std::uint64_t max_message_size, const SizeLimitFacts& facts) {
    ReceivedFacts f;
    f.helo = facts.helo;
    f.client_ip = facts.client_ip;
    f.hostname = facts.hostname;
    f.esmtp = true;
    f.tls = facts.tls;
    f.authenticated = true;   // ESMTPA/ESMTPSA: the longer name whoever the client is
    f.server_principal = facts.server_principal;
    // and the X-Rampart-Tracking-Id header (an id taken from an organisation server's
    // message may be as long as tracking::kMaxIdLength, but it is then in the message).
    std::uint64_t head = received_header_max(std::move(f)) +
                         tracking::header_line(std::string(tracking::kNewIdLength, 'x')).size();
    return max_message_size > head ? max_message_size - head : 0;
}

}  // namespace rampart::session
