// Fuzz target: the SASL response decoders (auth/sasl_codec): base64, the PLAIN message and
// the response-line markers, on what a client sends. Decoding is exact (what decodes
// re-encodes to the same text, what we encode decodes back), PLAIN splits at the first two
// NULs and loses no byte, and "*" / "=" mean cancel / empty only where RFC 4954 says.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/sasl_codec.hpp"

using namespace rampart::auth;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);

    auto decoded = decode_base64(in);
    if (decoded) {
        if (decoded->size() > in.size() || encode_base64(*decoded) != in) std::abort();
    }
    std::string encoded = encode_base64(in);
    auto back = decode_base64(encoded);
    if (!back || *back != in) std::abort();

    SaslLine line = decode_response_line(in);
    if ((line.kind == SaslLine::Kind::Cancel) != (in == "*")) std::abort();
    if (line.kind == SaslLine::Kind::Data && (!decoded || line.data != *decoded)) std::abort();
    if (line.kind == SaslLine::Kind::BadBase64 && (decoded || in == "*")) std::abort();

    SaslLine initial = decode_initial_response(in);
    if (initial.kind == SaslLine::Kind::Cancel) std::abort();
    if (in == "=" ? !(initial.kind == SaslLine::Kind::Data && initial.data.empty())
                  : (initial.kind == SaslLine::Kind::Data) != decoded.has_value())
        std::abort();

    for (std::string_view message : {in, std::string_view(decoded ? *decoded : std::string_view())}) {
        auto plain = parse_plain(message);
        std::size_t nuls = 0;
        for (char ch : message) nuls += ch == '\0';
        if (plain.has_value() != (nuls >= 2)) std::abort();
        if (plain) {
            if (plain->authzid.find('\0') != std::string::npos || plain->user.find('\0') != std::string::npos) std::abort();
            if (plain->authzid + '\0' + plain->user + '\0' + plain->password != message) std::abort();
        }
    }
    return 0;
}
