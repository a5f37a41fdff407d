// session/line_io.hpp — the session's buffered byte I/O: replies queued and flushed before
// each wait, command lines read with the bare CR/LF rules, message data handed out in
// place, and the half-close-and-drain after a fatal reply.
// Trust: bytes from the peer. Contract: only CRLF ends a line; a bare CR or LF is reported
// (BareLineEnd), never taken as a line end (DESIGN.md §8). Every read has a deadline and
// the buffer is bounded by the caller's line limit plus one read chunk.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include <asio/awaitable.hpp>

namespace rampart::net {
class Stream;
}
namespace rampart::smtp {
struct Reply;
}

namespace rampart::session {

enum class LineStatus { Ok, TooLong, BareLineEnd, Closed };

class LineIo {
public:
    // Reads are small while waiting for commands (an idle session holds little memory)
    // and large while message data streams in (once a small read came back full).
    static constexpr std::size_t kCommandChunk = 4 * 1024;
    static constexpr std::size_t kDataChunk = 64 * 1024;

    explicit LineIo(net::Stream& stream) : s_(stream) {}

    net::Stream& stream() { return s_; }
    // Queues a reply; it is sent by the next flush() (before any wait for the peer).
    void queue(const smtp::Reply& r);
    asio::awaitable<bool> flush();
    // Flushes, then reads at least one more byte into the buffer; false on EOF/error/timeout.
    asio::awaitable<bool> fill(std::chrono::milliseconds timeout, std::size_t chunk = kCommandChunk);
    // One CRLF-terminated line of at most `max` bytes (CRLF included), without the CRLF;
    // `timeout` is for the whole line (Closed, with the stream's end Timeout, when it passes).
    asio::awaitable<LineStatus> read_line(std::string& line, std::size_t max, std::chrono::milliseconds timeout);
    // Sends `r`, half-closes and drains the peer's input (bounded) so it reads the reply
    // instead of a reset.
    asio::awaitable<void> close_after_fatal(const smtp::Reply& r);

    // Input read but not consumed yet (message data is parsed from here in place).
    std::string_view pending() const { return std::string_view(in_.data() + in_pos_, in_end_ - in_pos_); }
    void consume(std::size_t n) { in_pos_ += n; }
    // Drops unread input (STARTTLS injection, RFC 3207 §4.2); returns how many bytes.
    std::size_t discard_pending();

private:
    void compact();

    net::Stream& s_;
    std::string in_;           // [0, in_end_) read; the rest is room for the next read
    std::size_t in_pos_ = 0;
    std::size_t in_end_ = 0;
    std::size_t last_read_ = 0;   // bytes the last read returned
    std::string out_;
};

}  // namespace rampart::session
