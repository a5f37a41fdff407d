// mime/encoded_word.hpp — header text to UTF-8: charset conversion for the charsets mail
// actually uses in file names (utf-8, us-ascii, iso-8859-1, iso-8859-15, windows-1252),
// RFC 2047 encoded words (B and Q) and RFC 2231 percent-encoding.
// Trust: input is hostile header text; output is bounded by the caller's cap, always
// valid UTF-8 where the charset is known (invalid sequences become U+FFFD). Text in an
// unknown charset is kept as raw bytes and reported, never guessed. Pure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rampart::mime {

struct DecodedText {
    std::string utf8;              // at most the cap given
    bool unknown_charset = false;  // some bytes kept raw: charset not known here
    bool malformed = false;        // bad encoded word, invalid bytes for the charset, or cut at the cap
};

bool valid_utf8(std::string_view s);

// Appends `bytes` in `charset` (case-insensitive; "" means us-ascii) to out->utf8 as UTF-8,
// at most `cap` bytes in all. Unknown charset: raw bytes, unknown_charset set.
void append_charset(std::string_view charset, std::string_view bytes, std::size_t cap, DecodedText* out);

// Decodes RFC 2047 encoded words in an unfolded header value (also inside what was a quoted
// string: mailers put them there and every client decodes them). Whitespace between two
// encoded words is dropped (RFC 2047 §6.2); adjacent words in one charset are joined before
// conversion so a character split across words survives. Other text: as `plain_charset`.
DecodedText decode_encoded_words(std::string_view value, std::size_t cap,
                                 std::string_view plain_charset = "utf-8");

// RFC 2231 §4: %XX → byte; a bad escape is kept literally and sets *bad.
std::string percent_decode(std::string_view s, bool* bad);

}  // namespace rampart::mime
