// auth/sasl_codec.cpp — SASL response decoding (see sasl_codec.hpp).
#include "auth/sasl_codec.hpp"

#include <cstring>

#include <sodium.h>

namespace rampart::auth {

std::optional<std::string> decode_base64(std::string_view in) {
    // libsodium 1.0.18 reads some bytes above 0x7F as base64 digits (0xF3 as '/'): only
    // the alphabet and padding get that far (found by tests/fuzz/sasl_codec).
    for (char ch : in)
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '+' || ch == '/' ||
              ch == '='))
            return std::nullopt;
    std::string out(in.size(), '\0');
    std::size_t len = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), in.data(), in.size(), nullptr, &len,
                          nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
        return std::nullopt;
    out.resize(len);
    return out;
}

std::string encode_base64(std::string_view in) {
    std::string out(sodium_base64_ENCODED_LEN(in.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(in.data()), in.size(),
                      sodium_base64_VARIANT_ORIGINAL);
    out.resize(std::strlen(out.c_str()));
    return out;
}

std::optional<PlainResponse> parse_plain(std::string_view m) {
    std::size_t a = m.find('\0');
    std::size_t b = a == std::string_view::npos ? a : m.find('\0', a + 1);
    if (b == std::string_view::npos) return std::nullopt;
    return PlainResponse{std::string(m.substr(0, a)), std::string(m.substr(a + 1, b - a - 1)), std::string(m.substr(b + 1))};
}

SaslLine decode_response_line(std::string_view line) {
    if (line == "*") return {SaslLine::Kind::Cancel, {}};
    std::optional<std::string> out = decode_base64(line);
    if (!out) return {SaslLine::Kind::BadBase64, {}};
    return {SaslLine::Kind::Data, std::move(*out)};
}

SaslLine decode_initial_response(std::string_view initial) {
    if (initial == "=") return {SaslLine::Kind::Data, {}};
    std::optional<std::string> out = decode_base64(initial);
    if (!out) return {SaslLine::Kind::BadBase64, {}};
    return {SaslLine::Kind::Data, std::move(*out)};
}

}  // namespace rampart::auth
