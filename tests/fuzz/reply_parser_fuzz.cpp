// Fuzz target: the delivery client's reply parser (smtp/reply_parser), on what a hostile
// next hop sends. Byte 0 picks the chunk size (1..64) in which the rest arrives and
// whether the small caps apply. The replies read must be the same whatever the chunking,
// each a three-digit code with lines all of that code, within the caps; the parser never
// keeps more than a line over the cap, and consumes whole lines only.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/reply_parser.hpp"

using rampart::smtp::ReplyParser;

namespace {

struct Read {
    ReplyParser::Status status;
    int code;
    std::string text;
    std::vector<std::string> lines;
    bool operator==(const Read&) const = default;
};

std::vector<Read> read_all(std::string_view in, std::size_t chunk, ReplyParser::Limits lim) {
    std::vector<Read> out;
    std::string buf;
    std::size_t pos = 0;
    while (true) {
        ReplyParser p(lim);
        std::vector<std::string> lines;
        ReplyParser::Status st;
        while (true) {
            std::size_t before = buf.size();
            std::string copy = buf;
            st = p.feed(buf, &lines);
            // Only whole lines leave the buffer, from its front.
            if (buf.size() > before || copy.substr(copy.size() - buf.size()) != buf) std::abort();
            if (buf.size() != before && copy[before - buf.size() - 1] != '\n') std::abort();
            if (st != ReplyParser::Status::NeedMore) break;
            if (buf.find('\n') != std::string::npos || buf.size() > lim.max_line_length) std::abort();
            if (pos == in.size()) return out;
            buf.append(in.substr(pos, chunk));
            pos = std::min(in.size(), pos + chunk);
        }
        out.push_back({st, p.code(), p.text(), lines});
        if (lines.size() > lim.max_lines) std::abort();
        for (const std::string& l : lines) {
            if (l.size() > lim.max_line_length) std::abort();
            if (st == ReplyParser::Status::Done && (l.size() < 3 || std::stoi(l.substr(0, 3)) != p.code())) std::abort();
        }
        if (st == ReplyParser::Status::Done) {
            if (p.code() < 0 || p.code() > 999 || p.text().size() > lim.max_bytes) std::abort();
            if (lines.empty() || !(lines.back().size() == 3 || lines.back()[3] == ' ')) std::abort();
        } else {
            if (st == ReplyParser::Status::Malformed && p.text().size() > 17 + 200) std::abort();
            break;   // the client gives the connection up
        }
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::size_t chunk = (data[0] & 63) + 1;
    ReplyParser::Limits lim = (data[0] & 64) ? ReplyParser::Limits{4, 200, 60} : ReplyParser::Limits{256, 64 * 1024, 2048};
    std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    auto whole = read_all(in, in.size() + 1, lim);
    auto parts = read_all(in, chunk, lim);
    if (whole != parts) std::abort();
    return 0;
}
