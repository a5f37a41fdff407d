// senderauth/public_suffix.hpp — the Public Suffix List (publicsuffix.org format: rules,
// "*." wildcards, "!" exceptions; ICANN and private sections alike) and the organisational
// domain of RFC 7489 §3.2.
// Trust: the list file is operator/distribution data (Debian's publicsuffix package,
// /usr/share/publicsuffix/public_suffix_list.dat); the domains asked about are hostile.
// Contract: loaded once (load() reads the file; parse() takes its text) and immutable after;
// lookups are O(labels) hash lookups, no allocation beyond the answer's labels.
// XXX(dkim): rules with non-ASCII labels are kept as UTF-8 and domains are compared as given,
// so an A-label (xn--) domain under an IDN suffix falls back to the default rule "*" (the org
// domain is then one label too short: stricter alignment, never looser across owners).
#pragma once

#include <string>
#include <string_view>
#include <unordered_set>

#include "util/result.hpp"

namespace rampart::senderauth {

inline constexpr std::string_view kDefaultPublicSuffixList = "/usr/share/publicsuffix/public_suffix_list.dat";

class PublicSuffixList {
public:
    // Reads the list from `path`; Error names the path.
    static Result<PublicSuffixList> load(const std::string& path = std::string(kDefaultPublicSuffixList));
    // The list's text ("//" comments, blank lines and the rest of a line after whitespace ignored).
    static PublicSuffixList parse(std::string_view text);

    // The public suffix of `domain` (lower-cased, no trailing dot): the longest matching rule,
    // exceptions first, the default rule "*" when none matches.
    std::string public_suffix(std::string_view domain) const;
    // RFC 7489 §3.2: the public suffix plus one label; the domain itself when it is a public
    // suffix or shorter.
    std::string organizational_domain(std::string_view domain) const;

    std::size_t size() const { return rules_.size() + wildcards_.size() + exceptions_.size(); }

private:
    std::unordered_set<std::string> rules_;       // "co.uk"
    std::unordered_set<std::string> wildcards_;   // "ck" for "*.ck"
    std::unordered_set<std::string> exceptions_;  // "www.ck" for "!www.ck"
};

}  // namespace rampart::senderauth
