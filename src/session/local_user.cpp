// session/local_user.cpp — Unix user → principal for local submission.
#include "session/local_user.hpp"

#include "directory/directory.hpp"
#include "util/text.hpp"

namespace rampart::session {

policy::Principal local_principal(const LocalUser& who, const directory::Directory* dir, const std::string& hostname) {
    policy::Principal p;
    p.kind = policy::Principal::Kind::User;
    p.name = who.name;
    p.mechanism = "LOCAL";
    if (dir) {
        if (const directory::User* u = dir->user(who.name)) {
            p.groups = dir->groups_of(u->name);
            p.addresses = u->addresses;
            p.send_as_any = u->send_as_any;
        }
    }
    p.addresses.push_back(util::ascii_lower(who.name + "@" + hostname));
    if (who.privileged) p.send_as_any = true;
    return p;
}

}  // namespace rampart::session
