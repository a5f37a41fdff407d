// filter/icap_reply.hpp — an ICAP server's answer (RFC 3507) to rampart's RESPMOD or REQMOD
// scan request, parsed and interpreted (pure; fuzzed by tests/fuzz/icap_reply_fuzz.cpp).
// Trusts nothing in the bytes: the ICAP head is bounded (kIcapMaxHead bytes, kIcapMaxLine per
// line), so are the encapsulated HTTP headers, the chunk-size lines and the trailers; the body
// is kept only up to `max_body` bytes (past it the body is known to differ from what was sent,
// which is all the interpretation needs, and reading stops).
// Interpretation: 204 = clean; a 2xx with X-Infection-Found, X-Virus-ID or X-Violations-Found
// = infected (the threat named from them); a 200 whose encapsulated HTTP response is not 2xx,
// which answers a REQMOD with a response, or whose body differs from the message sent =
// infected ("blocked"/"replaced" by the server); a 200 that hands the message back unchanged =
// clean; 4xx/5xx, anything else, garbage, a reply cut short = Error (the engine failed).
// Promises: a threat name it returns is 1..200 printable ASCII characters (spaces allowed
// inside), safe to put into an SMTP reply and a log line; an error text is printable too.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "filter/clamd_reply.hpp"

namespace rampart::filter {

inline constexpr std::size_t kIcapMaxHead = 16 * 1024;   // ICAP head; encapsulated headers alike
inline constexpr std::size_t kIcapMaxLine = 4096;        // one header line, a chunk-size line
inline constexpr std::size_t kIcapMaxHeaders = 100;

struct IcapResponse {
    int status = 0;                                        // the ICAP status code
    std::string reason;                                    // its reason phrase (printable)
    std::vector<std::pair<std::string, std::string>> headers;   // names lower-cased; folded lines joined by '\n'
    bool http_response = false;                            // a res-hdr came back (RESPMOD, or REQMOD answered with a response)
    bool http_request = false;                             // a req-hdr came back
    int http_status = 0;                                   // the encapsulated HTTP response's status, when there is one
    bool has_body = false;                                 // res-body / req-body (not null-body)
    std::string body;                                      // the de-chunked body, at most max_body bytes
    bool body_over = false;                                // the body went past max_body (reading stopped there)

    const std::string* header(std::string_view lower_name) const;
};

// Feed it the bytes as they arrive; it says when the reply is complete.
class IcapReplyReader {
public:
    enum class State { NeedMore, Done, Error };
    explicit IcapReplyReader(std::size_t max_body) : max_body_(max_body) {}
    // Bytes after a complete reply are ignored (the connection is closed after one request).
    State feed(std::string_view bytes);
    // The server closed the connection: Done if the reply was complete, else Error.
    State finish();
    State state() const { return state_; }
    const IcapResponse& response() const { return response_; }
    const std::string& error() const { return error_; }

private:
    enum class Step { Head, Encapsulated, ChunkSize, ChunkData, ChunkEnd, Trailer, Done };
    State fail(std::string why);
    bool bad(std::string why);   // fail(), for the bool helpers
    bool take_line(std::string_view& line);   // false: need more (or failed: check state_)
    bool parse_head(std::string_view head);
    bool parse_encapsulated(std::string_view block);
    void run();

    std::size_t max_body_;
    State state_ = State::NeedMore;
    Step step_ = Step::Head;
    std::string buf_;
    std::size_t pos_ = 0;                // parsed up to here in buf_
    std::size_t encapsulated_len_ = 0;   // bytes of encapsulated HTTP headers before the body
    std::vector<std::pair<std::string, std::size_t>> sections_;
    std::size_t chunk_left_ = 0;
    IcapResponse response_;
    std::string error_;
};

// The verdict for a complete reply; `sent` is the message as it was sent to the server.
ClamdReply interpret_icap_reply(const IcapResponse& response, std::string_view sent);

// The whole reply at once (tests, the fuzz target): read, finished, interpreted.
ClamdReply parse_icap_reply(std::string_view reply, std::string_view sent);

// A header value (or reason phrase) made printable and bounded, for an error text or a name.
std::string icap_printable(std::string_view s, std::size_t max = 120);

}  // namespace rampart::filter
