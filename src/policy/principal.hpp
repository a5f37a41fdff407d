// policy/principal.hpp — who the client is after authentication (DESIGN.md §2).
#pragma once

#include <string>
#include <vector>

namespace rampart::policy {

struct Principal {
    enum class Kind { Anonymous, User, Server };
    Kind kind = Kind::Anonymous;
    std::string name;                  // user or server name
    std::vector<std::string> groups;   // every group the user is in, nesting resolved
    std::vector<std::string> addresses;// addresses a user may send as
    bool send_as_any = false;
    std::string mechanism = {};        // the SASL mechanism that authenticated it ("PLAIN", "GSSAPI", "EXTERNAL")

    bool anonymous() const { return kind == Kind::Anonymous; }
    std::string text() const;          // "anonymous", "user:alice", "server:hub1"
};

}  // namespace rampart::policy
