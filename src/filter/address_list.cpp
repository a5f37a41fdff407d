// filter/address_list.cpp — address, domain and *.domain matching (see address_list.hpp).
#include "filter/address_list.hpp"

#include "directory/mailbox.hpp"

namespace rampart::filter {

AddressList::AddressList(const std::vector<std::string>& entries) {
    for (const std::string& e : entries) {
        if (e.find('@') != std::string::npos) entries_.push_back({Kind::Address, directory::address_key(e), e});
        else if (e.size() > 2 && e.compare(0, 2, "*.") == 0) entries_.push_back({Kind::Subdomains, directory::fold(e.substr(2)), e});
        else entries_.push_back({Kind::Domain, directory::fold(e), e});
    }
}

const std::string* AddressList::match(const smtp::Mailbox& m) const {
    if (entries_.empty()) return nullptr;
    std::string address = directory::fold(m.key());
    std::string domain = m.domain_key();
    for (const Entry& e : entries_) {
        switch (e.kind) {
            case Kind::Address:
                if (address == e.key) return &e.written;
                break;
            case Kind::Domain:
                if (domain == e.key) return &e.written;
                break;
            case Kind::Subdomains:
                if (domain.size() > e.key.size() + 1 && domain.compare(domain.size() - e.key.size(), e.key.size(), e.key) == 0 &&
                    domain[domain.size() - e.key.size() - 1] == '.')
                    return &e.written;
                break;
        }
    }
    return nullptr;
}

}  // namespace rampart::filter
