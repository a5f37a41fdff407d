// session/local_user.hpp — the principal of a local submission (`rampart sendmail` over
// data_dir/submit.sock): the calling Unix user, as the kernel reported it (SO_PEERCRED),
// authenticated without a password, then held to the listener's policy like any user.
// Trust: the uid comes from the kernel; the name from the password database.
#pragma once

#include <sys/types.h>

#include <string>

#include "policy/principal.hpp"

namespace rampart::directory {
class Directory;
}

namespace rampart::session {

struct LocalUser {
    uid_t uid = 0;
    std::string name;          // getpwuid's name, or "uid<N>" when the uid has no entry
    bool privileged = false;   // root or the server's own user: may send as any address
};

// user:NAME with mechanism "LOCAL". A directory user of the same name lends its groups,
// addresses and send_as_any; every local user may also send as NAME@hostname (the local
// sender address of Postfix's myorigin = $myhostname); root and the server's user as any.
policy::Principal local_principal(const LocalUser& who, const directory::Directory* dir, const std::string& hostname);

}  // namespace rampart::session
