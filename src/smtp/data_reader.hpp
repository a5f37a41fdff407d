// smtp/data_reader.hpp — the DATA phase decoder (RFC 5321 §4.1.1.4, §4.5.2).
// Pure and incremental: feed it bytes as they arrive, it appends the un-dot-stuffed message
// (CRLF line ends) to the caller's buffer and says when <CRLF>.<CRLF> was seen.
// Contract (DESIGN.md §8, no SMTP smuggling): only CR LF "." CR LF ends the data. A bare
// LF or a CR not followed by LF stops decoding with Status::BareLineEnd; the caller refuses
// the message and must not interpret anything after it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rampart::smtp {

class DataReader {
public:
    enum class Status { NeedMore, Done, BareLineEnd };

    // max_size: bytes of message kept (more is counted, not stored). max_line: longest
    // line without its CRLF; 0 disables the check.
    DataReader(std::uint64_t max_size, std::uint32_t max_line);

    // Consumes a prefix of `in`; `used` receives its length. On Done, `used` ends just
    // after the terminating LF; the rest of `in` belongs to the next command.
    Status feed(std::string_view in, std::size_t& used, std::string& out);

    std::uint64_t size() const { return size_; }          // message bytes, dot-stuffing removed
    bool too_big() const { return size_ > max_size_; }
    bool line_too_long() const { return long_line_; }
    bool has_nul() const { return nul_; }
    bool bare_cr() const { return bare_cr_; }              // which bare line end was seen

private:
    enum class State { LineStart, Dot, DotCr, Text, Cr };
    void emit(std::string& out, std::string_view bytes);

    std::uint64_t max_size_;
    std::uint32_t max_line_;
    State state_ = State::LineStart;
    std::uint64_t size_ = 0;
    std::uint32_t line_len_ = 0;
    bool long_line_ = false;
    bool nul_ = false;
    bool bare_cr_ = false;
};

// Dot-stuffs `message` (CRLF line ends) for transmission and appends the terminating
// ".CRLF" (after a CRLF if the message does not end with one). RFC 5321 §4.5.2.
std::string dot_stuff(std::string_view message);

}  // namespace rampart::smtp

namespace rampart::smtp {

// Facts about a message received whole (BDAT): the checks DataReader makes on the fly.
struct LineFacts {
    bool bare_line_end = false;   // LF without CR, or CR without LF
    bool long_line = false;       // a line longer than max_line (0: unchecked)
    bool nul = false;
};
LineFacts check_lines(std::string_view message, std::uint32_t max_line);

// Number of "Received:" header fields in the header section of `message`.
std::size_t count_received_headers(std::string_view message);

}  // namespace rampart::smtp
