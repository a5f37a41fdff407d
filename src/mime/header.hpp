// mime/header.hpp — header blocks (RFC 5322 §2.2, RFC 6532 UTF-8 values) and the
// parameterised MIME fields Content-Type / Content-Disposition (RFC 2045 §5.1, RFC 2183,
// RFC 2231 continuations and charsets, RFC 2047 words in file names).
// Trust: hostile text; every loop is bounded by its input and every output by the caps
// given, one pass each (no quadratic rescans of folded lines). Pure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "mime/structure.hpp"

namespace rampart::mime {

// One field of a header block; views into the block.
struct HeaderField {
    std::string_view name;        // as written
    std::string_view raw_value;   // after the colon, folds and line ends included
    std::size_t begin = 0;        // offset in the block of the field's first byte
    std::size_t end = 0;          // offset after its last line end
};

// Length of the field name if `line` starts a field ("Name:" or obsolete "Name WSP:"), else 0.
std::size_t field_name_length(std::string_view line);

// The fields of a header block (Part::header_begin..header_end), at most max_fields.
// Lines that are neither a field nor a continuation are skipped.
std::vector<HeaderField> header_fields(std::string_view block, std::size_t max_fields = 1000);

bool iequals(std::string_view a, std::string_view b);

// RFC 5322 §2.2.3 unfolding: line ends before whitespace removed, outer whitespace trimmed;
// at most `cap` bytes (*truncated set when cut).
std::string unfold(std::string_view raw, std::size_t cap, bool* truncated = nullptr);

struct ParsedField {
    std::string value;           // the leading value, lower-cased, comments and spaces removed
    std::vector<Param> params;   // RFC 2231 assembled; name/filename with encoded words decoded
    bool syntax_error = false;   // the value or a parameter could not be read
    bool bad_param = false;      // duplicate parameter, broken continuation, bad escape or word
    bool unknown_charset = false;
    bool name_cut = false;       // a name or filename value was longer than max_param_bytes: cut
};

// Parses `value *(";" parameter)` from an unfolded field value.
ParsedField parse_field_value(std::string_view unfolded, std::size_t max_params, std::size_t max_param_bytes);

}  // namespace rampart::mime
