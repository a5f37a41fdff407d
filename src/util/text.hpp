// util/text.hpp — ASCII text helpers shared by the protocol code (domain names, SMTP
// keywords, LDAP attribute names, fingerprints are ASCII; no locale is involved).
#pragma once

#include <string>
#include <string_view>

namespace rampart::util {

// `s` with A–Z turned into a–z; every other byte unchanged.
inline std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

}  // namespace rampart::util
