// Fuzz target: MIME parser, decoders, sniffing, zip lister and rewrite. Any input must
// give a Structure whose offsets lie inside the input and whose tree is consistent, and a
// rewrite that removes or replaces a leaf must give a message that parses again; never a
// crash, an over-read (the input is an exact-size buffer) or unbounded work.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "mime/encoded_word.hpp"
#include "mime/header.hpp"
#include "mime/parser.hpp"
#include "mime/rewrite.hpp"
#include "mime/sniff.hpp"
#include "mime/transfer_decoder.hpp"
#include "mime/zip.hpp"

using namespace rampart::mime;

namespace {
void check(const Structure& s, std::size_t size, const Limits& lim) {
    if (s.parts.empty() || s.parts.size() > lim.max_parts) std::abort();
    for (std::size_t i = 0; i < s.parts.size(); ++i) {
        const Part& p = s.parts[i];
        if (!(p.delimiter_begin <= p.header_begin && p.header_begin <= p.header_end && p.header_end <= p.body_begin &&
              p.body_begin <= p.body_end && p.body_end <= size))
            std::abort();
        if (p.depth > lim.max_depth || p.filename.size() > lim.max_param_bytes || p.name.size() > lim.max_param_bytes)
            std::abort();
        if (i > 0 && (p.parent >= i || s.parts[p.parent].depth + 1 != p.depth)) std::abort();
    }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    Limits small;
    small.max_depth = 4;
    small.max_parts = 16;
    small.max_header_bytes = 512;
    small.max_headers = 8;
    small.max_params = 4;
    small.max_param_bytes = 32;
    small.sniff_bytes = 256;
    for (const Limits& lim : {Limits{}, small}) {
        Structure s = parse(in, lim);
        check(s, size, lim);
        (void)dump(s);
        for (const Part& p : s.parts) {
            std::string head = decode_to_string(in, p, 4096);
            if (head.size() > 4096) std::abort();
            if (p.is_leaf() && looks_like_zip(std::span<const unsigned char>(
                                   reinterpret_cast<const unsigned char*>(head.data()), head.size()))) {
                ZipLimits zl;
                zl.max_inflated_total = 1 << 20;
                (void)list_zip(head, zl);
            }
        }
        // Strip the last leaf (replace, or remove when its multipart keeps another part).
        for (std::size_t i = s.parts.size(); i-- > 1;) {
            if (!s.parts[i].is_leaf()) continue;
            std::vector<Edit> edits{Edit::replace(i, text_part("removed")), Edit::add_header("X-Fuzz", "1")};
            auto out = rewrite(in, s, edits);
            if (out.ok()) check(parse(*out, lim), out->size(), lim);
            std::vector<Edit> removal{Edit::remove(i), Edit::remove_header("Subject")};
            auto out2 = rewrite(in, s, removal);
            if (out2.ok()) check(parse(*out2, lim), out2->size(), lim);
            break;
        }
    }
    (void)sniff(std::span<const unsigned char>(data, size));
    (void)list_zip(std::span<const unsigned char>(data, size), ZipLimits{100, 3, 1 << 20, 4096, 256});
    (void)decode_encoded_words(in, 256);
    (void)parse_field_value(in, 8, 64);
    (void)header_fields(in, 64);
    return 0;
}
