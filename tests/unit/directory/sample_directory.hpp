// sample_directory.hpp — a small directory (users, nested and looping aliases) and the
// accepted domains around it, shared by the mailbox-resolution and expansion tests.
#pragma once

#include <vector>

#include "config/config.hpp"
#include "directory/directory.hpp"

namespace rampart::test {

struct SampleDirectory {
    SampleDirectory() {
        dir.users.push_back({"Alice", {"alice@example.test"}, {}, "", false, {}, {}});
        dir.users.push_back({"bob", {"bob@example.test"}, {}, "", false, {}, {}});
        dir.aliases.push_back({"staff@example.test", {"user:Alice", "bob@example.test", "ext@outside.test"}});
        dir.aliases.push_back({"sales@example.test", {"staff@example.test", "ALICE@example.test"}});
        dir.aliases.push_back({"loop@example.test", {"loop@example.test"}});
        domains = {{"example.test", config::DomainType::Authoritative},
                   {"open.test", config::DomainType::Authoritative},
                   {"partner.test", config::DomainType::ExternalRelay}};
    }
    directory::Directory dir;
    std::vector<config::Domain> domains;
};

}  // namespace rampart::test
