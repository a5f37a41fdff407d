// config/roles.cpp — preset values per role. Every preset: relay list only-list and empty,
// authenticated users may not relay, submit and relay permission lists empty.
#include "config/roles.hpp"

namespace rampart::config {

Listener preset_listener(Role role) {
    Listener l;
    AuthSettings& a = l.auth;
    a.basic = false;
    a.basic_requires_tls = true;
    switch (role) {
        case Role::Gateway: a.anonymous = true; a.integrated = true; a.server = true; break;
        case Role::Mailbox: a.anonymous = false; a.integrated = true; a.server = true; break;
        case Role::Frontend: a.anonymous = false; a.integrated = false; a.server = true; break;
        case Role::AllInOne: a.anonymous = true; a.integrated = true; a.server = true; break;
        case Role::Edge: a.anonymous = true; a.integrated = false; a.server = false; break;
        case Role::Hub: a.anonymous = false; a.integrated = true; a.server = true; break;
    }
    l.relay = RelaySettings{};
    l.permissions = Permissions{};
    return l;
}

}  // namespace rampart::config
