// Fuzz target: the DATA decoder fed in chunks (chunk boundaries are where smuggling hides).
// Input: byte 0 gives n (0..15), the next n bytes the chunk sizes (0..63, used in turn; none:
// one byte at a time), the rest is what the client sent after 354. The decoder's result
// must equal a simple reference computed from the whole input: the data end only at
// CR LF "." CR LF (or "." CR LF first), a bare CR or LF always stops it at the right
// byte, dot-unstuffing exact, and the size, long-line and NUL facts right; a small
// max_size keeps a prefix of the same output. Never an over-read.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/data_reader.hpp"

using rampart::smtp::DataReader;

namespace {

constexpr std::uint32_t kMaxLine = 40;

struct Outcome {
    DataReader::Status status = DataReader::Status::NeedMore;
    std::size_t used = 0;   // bytes of the input consumed
    std::string out;
    std::uint64_t size = 0;
    bool long_line = false, nul = false;
};

// The reference: line by line over the whole input.
Outcome reference(std::string_view in) {
    Outcome r;
    std::size_t pos = 0;
    auto content = [&](std::string_view line) {
        if (line.size() > kMaxLine) r.long_line = true;
        if (line.find('\0') != std::string_view::npos) r.nul = true;
    };
    while (true) {
        if (in.substr(pos, 3) == ".\r\n") {
            r.status = DataReader::Status::Done;
            r.used = pos + 3;
            break;
        }
        std::size_t start = pos < in.size() && in[pos] == '.' ? pos + 1 : pos;   // un-stuff
        std::size_t j = in.find_first_of(std::string_view("\r\n", 2), start);
        if (j == std::string_view::npos) {   // no line end yet
            content(in.substr(start));
            r.out += in.substr(start);
            r.used = in.size();
            break;
        }
        content(in.substr(start, j - start));
        r.out += in.substr(start, j - start);
        if (in[j] == '\n') {   // bare LF
            r.status = DataReader::Status::BareLineEnd;
            r.used = j;
            break;
        }
        if (j + 1 == in.size()) {   // CR, then nothing yet
            r.used = in.size();
            break;
        }
        if (in[j + 1] != '\n') {   // bare CR
            r.status = DataReader::Status::BareLineEnd;
            r.used = j + 1;
            break;
        }
        r.out += "\r\n";
        pos = j + 2;
    }
    r.size = r.out.size();
    return r;
}

Outcome chunked(std::string_view in, const std::vector<std::size_t>& sizes, std::uint64_t max_size) {
    DataReader reader(max_size, kMaxLine);
    Outcome o;
    std::size_t k = 0;
    while (true) {
        std::size_t n = sizes.empty() ? 1 : sizes[k++ % sizes.size()];
        std::string_view chunk = in.substr(o.used, n);
        std::size_t used = 0;
        o.status = reader.feed(chunk, used, o.out);
        if (used > chunk.size()) std::abort();
        if (o.status == DataReader::Status::NeedMore && used != chunk.size()) std::abort();
        o.used += used;
        if (o.status != DataReader::Status::NeedMore || o.used == in.size()) break;
    }
    o.size = reader.size();
    o.long_line = reader.line_too_long();
    o.nul = reader.has_nul();
    if (reader.too_big() != (o.size > max_size)) std::abort();
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::size_t n = data[0] % 16;
    if (size < 1 + n) return 0;
    std::vector<std::size_t> sizes;
    for (std::size_t i = 0; i < n; ++i) sizes.push_back(data[1 + i] % 64);
    bool all_zero = true;
    for (std::size_t s : sizes) all_zero = all_zero && s == 0;
    if (all_zero) sizes.clear();   // zero-byte chunks only would never progress
    std::string_view in(reinterpret_cast<const char*>(data) + 1 + n, size - 1 - n);

    Outcome want = reference(in);
    Outcome got = chunked(in, sizes, 1 << 20);
    if (got.status != want.status || got.used != want.used || got.out != want.out || got.size != want.size ||
        got.long_line != want.long_line || got.nul != want.nul)
        std::abort();
    // The end of data is exactly CR LF "." CR LF (or "." CR LF at the start).
    if (got.status == DataReader::Status::Done) {
        std::string_view consumed = in.substr(0, got.used);
        if (!(consumed == ".\r\n" || (consumed.size() >= 5 && consumed.substr(consumed.size() - 5) == "\r\n.\r\n")))
            std::abort();
    }
    // A bare line end stops decoding on a LF without CR, or just after a CR without LF.
    if (got.status == DataReader::Status::BareLineEnd) {
        bool lf = got.used < in.size() && in[got.used] == '\n' && (got.used == 0 || in[got.used - 1] != '\r');
        bool cr = got.used > 0 && in[got.used - 1] == '\r' && (got.used == in.size() || in[got.used] != '\n');
        if (!lf && !cr) std::abort();
    }
    // What is kept never holds a bare CR or LF.
    if (rampart::smtp::check_lines(got.out, 0).bare_line_end) std::abort();
    // A small max_size keeps the same bytes up to it, and counts the rest.
    Outcome small = chunked(in, sizes, 37);
    if (small.status != want.status || small.used != want.used || small.size != want.size ||
        small.out != want.out.substr(0, 37))
        std::abort();
    return 0;
}
