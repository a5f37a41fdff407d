// smtp/reply_parser.hpp — reads one SMTP reply (RFC 5321 §4.2) from bytes a peer sent:
// the delivery client's parser, pure so that it can be fuzzed (tests/fuzz/reply_parser).
// Trust: every byte is the peer's. Contract: it consumes only whole lines (LF-ended; a CR
// before the LF is dropped), stops at the last line of a reply and leaves what follows in
// the buffer; past a cap (lines, bytes, line length) or on a malformed line it reports
// that and keeps nothing of the reply. Never grows past the caps it is given.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace rampart::smtp {

class ReplyParser {
public:
    struct Limits {
        std::size_t max_lines;
        std::size_t max_bytes;
        std::size_t max_line_length;   // without the LF
    };
    enum class Status {
        NeedMore,        // no complete line in the buffer: read more and call again
        Done,            // code() and text() hold the reply
        Malformed,       // text() holds "malformed reply: " and the line's first 200 bytes
        LineTooLong,     // a line (or the unterminated rest) is longer than max_line_length
        TooManyLines,
        TooManyBytes,
    };

    explicit ReplyParser(Limits limits) : limits_(limits) {}

    // Consumes complete lines from the front of `in`. With `lines`, each line of the
    // reply is appended as received (CR LF removed). After anything but NeedMore, start
    // a new parser for the next reply.
    Status feed(std::string& in, std::vector<std::string>* lines = nullptr);

    int code() const { return code_; }
    // Done: the lines' texts (after "NNN-" / "NNN ") joined by ' '.
    const std::string& text() const { return text_; }

private:
    Limits limits_;
    int code_ = -1;
    std::size_t count_ = 0;
    std::size_t bytes_ = 0;
    std::string text_;
};

}  // namespace rampart::smtp
