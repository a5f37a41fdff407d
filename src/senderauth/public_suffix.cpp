// senderauth/public_suffix.cpp — Public Suffix List parsing and matching (see the header).
#include "senderauth/public_suffix.hpp"

#include <vector>

#include "util/file_io.hpp"
#include "util/text.hpp"

namespace rampart::senderauth {

namespace {

std::string normalize(std::string_view domain) {
    std::string d = util::ascii_lower(domain);
    while (!d.empty() && d.back() == '.') d.pop_back();
    return d;
}

// Offsets where each suffix of `d` starts: "a.b.c" → 0, 2, 4.
std::vector<std::size_t> label_starts(std::string_view d) {
    std::vector<std::size_t> starts;
    if (d.empty()) return starts;
    starts.push_back(0);
    for (std::size_t i = 0; i < d.size(); ++i)
        if (d[i] == '.') starts.push_back(i + 1);
    return starts;
}

}  // namespace

PublicSuffixList PublicSuffixList::parse(std::string_view text) {
    PublicSuffixList psl;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view line = text.substr(pos, nl - pos);
        pos = nl + 1;
        std::size_t end = line.find_first_of(" \t\r");
        if (end != std::string_view::npos) line = line.substr(0, end);
        if (line.empty() || line.starts_with("//")) continue;
        if (line.starts_with("!")) psl.exceptions_.insert(normalize(line.substr(1)));
        else if (line.starts_with("*.")) psl.wildcards_.insert(normalize(line.substr(2)));
        else psl.rules_.insert(normalize(line));
    }
    return psl;
}

Result<PublicSuffixList> PublicSuffixList::load(const std::string& path) {
    auto text = util::read_file(path);
    if (!text) return Error{text.error().code, "public suffix list " + path + ": " + text.error().message};
    return parse(*text);
}

std::string PublicSuffixList::public_suffix(std::string_view domain) const {
    std::string d = normalize(domain);
    auto starts = label_starts(d);
    if (starts.empty()) return d;
    // Longest match wins, so walk from the longest suffix (the whole name) to the shortest.
    for (std::size_t k = 0; k < starts.size(); ++k) {
        std::string_view suffix = std::string_view(d).substr(starts[k]);
        std::string key(suffix);
        if (exceptions_.count(key)) return std::string(k + 1 < starts.size() ? std::string_view(d).substr(starts[k + 1]) : suffix);
        if (rules_.count(key)) return key;
        if (k + 1 < starts.size() && wildcards_.count(std::string(std::string_view(d).substr(starts[k + 1])))) {
            // "*.ck" matches "x.ck" unless an exception for it exists (checked above).
            return key;
        }
    }
    return std::string(std::string_view(d).substr(starts.back()));   // the default rule "*"
}

std::string PublicSuffixList::organizational_domain(std::string_view domain) const {
    std::string d = normalize(domain);
    std::string suffix = public_suffix(d);
    if (suffix.size() >= d.size()) return d;
    std::size_t cut = d.size() - suffix.size() - 1;   // the dot before the suffix
    std::size_t start = d.rfind('.', cut == 0 ? 0 : cut - 1);
    return start == std::string::npos || start >= cut ? d : d.substr(start + 1);
}

}  // namespace rampart::senderauth
