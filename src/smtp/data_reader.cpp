// smtp/data_reader.cpp — byte-level state machine for the DATA phase.
#include "smtp/data_reader.hpp"

#include <strings.h>

#include <cstring>

namespace rampart::smtp {

DataReader::DataReader(std::uint64_t max_size, std::uint32_t max_line)
    : max_size_(max_size), max_line_(max_line) {}

void DataReader::emit(std::string& out, std::string_view bytes) {
    std::uint64_t before = size_;
    size_ += bytes.size();
    if (before >= max_size_) return;
    std::uint64_t room = max_size_ - before;
    out.append(bytes.data(), bytes.size() < room ? bytes.size() : static_cast<std::size_t>(room));
}

DataReader::Status DataReader::feed(std::string_view in, std::size_t& used, std::string& out) {
    std::size_t i = 0;
    const std::size_t n = in.size();
    while (i < n) {
        char c = in[i];
        switch (state_) {
            case State::LineStart:
                line_len_ = 0;
                if (c == '.') {
                    state_ = State::Dot;
                    ++i;
                } else {
                    state_ = State::Text;
                }
                break;
            case State::Dot:
                if (c == '\r') {
                    state_ = State::DotCr;
                    ++i;
                } else {
                    // Leading dot of a stuffed line is removed (§4.5.2); the line goes on.
                    state_ = State::Text;
                }
                break;
            case State::DotCr:
                if (c == '\n') {
                    used = i + 1;
                    return Status::Done;
                }
                bare_cr_ = true;
                used = i;
                return Status::BareLineEnd;
            case State::Text: {
                // Fast path: copy the run up to the next CR, LF or NUL.
                std::size_t j = i;
                while (j < n && in[j] != '\r' && in[j] != '\n' && in[j] != '\0') ++j;
                if (j > i) {
                    line_len_ += static_cast<std::uint32_t>(j - i);
                    if (max_line_ != 0 && line_len_ > max_line_) long_line_ = true;
                    emit(out, in.substr(i, j - i));
                    i = j;
                    break;
                }
                if (c == '\r') {
                    state_ = State::Cr;
                    ++i;
                } else if (c == '\n') {
                    bare_cr_ = false;
                    used = i;
                    return Status::BareLineEnd;
                } else {  // NUL
                    nul_ = true;
                    ++line_len_;
                    if (max_line_ != 0 && line_len_ > max_line_) long_line_ = true;
                    emit(out, std::string_view("\0", 1));
                    ++i;
                }
                break;
            }
            case State::Cr:
                if (c == '\n') {
                    emit(out, "\r\n");
                    state_ = State::LineStart;
                    ++i;
                } else {
                    bare_cr_ = true;
                    used = i;
                    return Status::BareLineEnd;
                }
                break;
        }
    }
    used = n;
    return Status::NeedMore;
}

std::string dot_stuff(std::string_view m) {
    std::string out;
    out.reserve(m.size() + m.size() / 64 + 8);
    bool line_start = true;
    std::size_t i = 0;
    while (i < m.size()) {
        if (line_start && m[i] == '.') out += '.';
        const void* nl = std::memchr(m.data() + i, '\n', m.size() - i);
        std::size_t end = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - m.data()) + 1 : m.size();
        out.append(m.data() + i, end - i);
        line_start = nl != nullptr;
        i = end;
    }
    if (!m.empty() && !(m.size() >= 2 && m.substr(m.size() - 2) == "\r\n")) out += "\r\n";
    out += ".\r\n";
    return out;
}

}  // namespace rampart::smtp

namespace rampart::smtp {

LineFacts check_lines(std::string_view m, std::uint32_t max_line) {
    LineFacts f;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < m.size(); ++i) {
        char c = m[i];
        if (c == '\r') {
            if (i + 1 >= m.size() || m[i + 1] != '\n') f.bare_line_end = true;
        } else if (c == '\n') {
            if (i == 0 || m[i - 1] != '\r') f.bare_line_end = true;
            std::size_t len = i - line_start - (i > line_start && m[i - 1] == '\r' ? 1 : 0);
            if (max_line != 0 && len > max_line) f.long_line = true;
            line_start = i + 1;
        } else if (c == '\0') {
            f.nul = true;
        }
    }
    if (max_line != 0 && m.size() - line_start > max_line) f.long_line = true;
    return f;
}

std::size_t count_received_headers(std::string_view m) {
    std::size_t count = 0;
    std::size_t pos = 0;
    while (pos < m.size()) {
        std::size_t eol = m.find('\n', pos);
        std::string_view line = m.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
        if (line.empty() || line == "\r") break;  // end of the header section
        if (line.size() >= 9 && strncasecmp(line.data(), "received:", 9) == 0) ++count;
        if (eol == std::string_view::npos) break;
        pos = eol + 1;
    }
    return count;
}

}  // namespace rampart::smtp
