// config/address_space.cpp — address-space matching.
#include "config/address_space.hpp"

namespace rampart::config {

const Domain* accepted_domain(const std::vector<Domain>& domains, std::string_view domain) {
    if (domain.empty()) return nullptr;
    for (const Domain& d : domains)
        if (d.name == domain) return &d;
    return nullptr;
}

int address_space_match(std::string_view space, std::string_view domain) {
    if (space == "*") return 0;
    if (space.size() > 2 && space.substr(0, 2) == "*.") {
        std::string_view parent = space.substr(1);  // ".example.test"
        if (domain.size() > parent.size() && domain.substr(domain.size() - parent.size()) == parent)
            return static_cast<int>(parent.size()) * 2;
        return -1;
    }
    return space == domain ? static_cast<int>(space.size()) * 2 + 1 : -1;
}

const SendConnector* find_connector(const std::vector<SendConnector>& connectors, std::string_view domain) {
    const SendConnector* best = nullptr;
    int best_score = -1;
    for (const SendConnector& c : connectors)
        for (const std::string& s : c.address_spaces) {
            int score = address_space_match(s, domain);
            if (score > best_score) {
                best_score = score;
                best = &c;
            }
        }
    return best;
}

}  // namespace rampart::config
