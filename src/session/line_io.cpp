// session/line_io.cpp — buffered session I/O with the bare CR/LF rules (see line_io.hpp).
#include "session/line_io.hpp"

#include <algorithm>
#include <cstring>

#include <asio/buffer.hpp>

#include "net/stream.hpp"
#include "smtp/reply.hpp"

namespace rampart::session {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kWriteTimeout{std::chrono::minutes(2)};
// After a fatal refusal the peer may still be sending; read and drop this much at most
// so that closing does not reset the connection before the peer reads our reply.
constexpr std::size_t kDrainLimit = 1 << 20;
constexpr milliseconds kDrainTimeout{std::chrono::seconds(2)};

}  // namespace

void LineIo::queue(const smtp::Reply& r) { out_ += r.wire(); }

asio::awaitable<bool> LineIo::flush() {
    if (out_.empty()) co_return true;
    bool ok = co_await s_.write(out_, kWriteTimeout);
    out_.clear();
    co_return ok;
}

void LineIo::compact() {
    if (in_pos_ == 0) return;
    if (in_pos_ < in_end_) std::memmove(in_.data(), in_.data() + in_pos_, in_end_ - in_pos_);
    in_end_ -= in_pos_;
    in_pos_ = 0;
}

std::size_t LineIo::discard_pending() {
    std::size_t n = in_end_ - in_pos_;
    in_end_ = in_pos_ = 0;
    return n;
}

asio::awaitable<bool> LineIo::fill(milliseconds timeout, std::size_t chunk) {
    if (!co_await flush()) co_return false;
    compact();
    // Waiting for a command with nothing buffered: give back the big buffer message data
    // needed (an idle session keeps only a command-sized one).
    if (chunk == kCommandChunk && in_end_ == 0 && in_.size() > kCommandChunk) std::string().swap(in_);
    // The buffer only grows (zero-filled once, not on every read: that memset was a
    // quarter of the instructions per message).
    // Large reads only while data arrives in bulk: a peer that trickles (a slow client in
    // DATA) gets a command-sized buffer, not 64 KiB (issue 13: 2,000 slow clients).
    if (chunk > kCommandChunk && last_read_ < kCommandChunk) chunk = kCommandChunk;
    if (in_.size() < in_end_ + chunk) in_.resize(in_end_ + chunk);
    std::size_t n = co_await s_.read_some(asio::buffer(in_.data() + in_end_, chunk), timeout);
    in_end_ += n;
    last_read_ = n;
    co_return n > 0;
}

asio::awaitable<LineStatus> LineIo::read_line(std::string& line, std::size_t max, milliseconds timeout) {
    // The timeout bounds the whole line, not each read: a peer that sends one byte now and
    // then (slowloris) is cut off like a silent one (issue 13).
    auto deadline = Clock::now() + timeout;
    std::size_t checked = 0;  // bytes after in_pos_ already known to hold no LF
    bool discarding = false;
    while (true) {
        std::size_t nl = std::string_view(in_.data(), in_end_).find('\n', in_pos_ + checked);
        if (nl != std::string_view::npos) {
            std::string_view raw(in_.data() + in_pos_, nl - in_pos_);
            in_pos_ = nl + 1;
            if (discarding) co_return LineStatus::TooLong;
            if (raw.empty() || raw.back() != '\r') co_return LineStatus::BareLineEnd;
            raw.remove_suffix(1);
            if (raw.find('\r') != std::string_view::npos) co_return LineStatus::BareLineEnd;
            if (raw.size() + 2 > max) co_return LineStatus::TooLong;
            line.assign(raw);
            co_return LineStatus::Ok;
        }
        checked = in_end_ - in_pos_;
        if (checked > max) {
            // Over-long line: drop what we have and keep dropping until its LF.
            discarding = true;
            in_pos_ = in_end_;
            checked = 0;
        }
        auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        if (!co_await fill(std::max(left, milliseconds(1)))) co_return LineStatus::Closed;
    }
}

asio::awaitable<void> LineIo::close_after_fatal(const smtp::Reply& r) {
    queue(r);
    co_await flush();
    co_await s_.shutdown_send();
    std::size_t drained = 0;
    char buf[16384];
    auto deadline = Clock::now() + kDrainTimeout;
    while (drained < kDrainLimit && Clock::now() < deadline) {
        auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        std::size_t n = co_await s_.read_some(asio::buffer(buf), std::max(left, milliseconds(1)));
        if (n == 0) break;
        drained += n;
    }
}

}  // namespace rampart::session
