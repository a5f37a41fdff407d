// auth/sasl_codec.hpp — the byte-level parts of SASL responses (RFC 4954 §4, RFC 4616,
// RFC 4422): base64, the PLAIN message, and the cancel/empty markers. Pure (libsodium's
// base64 only): the session does the I/O and replies, these are fuzzed
// (tests/fuzz/sasl_codec). Trust: every input is the client's.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rampart::auth {

// RFC 4648 base64, padded, no whitespace, as SASL uses it; nullopt if malformed (any
// byte outside the alphabet and '=' included).
std::optional<std::string> decode_base64(std::string_view in);
std::string encode_base64(std::string_view in);

// RFC 4616: authzid NUL authcid NUL passwd. nullopt without two NULs; the password is
// everything after the second (it may hold further NULs; the verifier refuses it).
struct PlainResponse {
    std::string authzid;
    std::string user;
    std::string password;
};
std::optional<PlainResponse> parse_plain(std::string_view message);

// One SASL response line (RFC 4954 §4): "*" cancels; otherwise base64.
struct SaslLine {
    enum class Kind { Cancel, Data, BadBase64 } kind = Kind::BadBase64;
    std::string data;   // Data: the decoded bytes
};
SaslLine decode_response_line(std::string_view line);
// The initial response on the AUTH line: "=" is an empty response (RFC 4954 §4); it is
// never "" (no initial response: the caller sends an empty 334 instead).
SaslLine decode_initial_response(std::string_view initial);

}  // namespace rampart::auth
