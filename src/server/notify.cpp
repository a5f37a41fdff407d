// server/notify.cpp — sd_notify without libsystemd: the protocol is one datagram of
// newline-separated KEY=VALUE assignments, and libsystemd would be a dependency for ~30 lines.
#include "server/notify.hpp"

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace rampart::server {

bool notify(std::string_view state) {
    const char* name = std::getenv("NOTIFY_SOCKET");
    if (name == nullptr || name[0] == '\0') return false;
    std::size_t len = std::strlen(name);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if ((name[0] != '/' && name[0] != '@') || len >= sizeof(addr.sun_path)) return false;
    std::memcpy(addr.sun_path, name, len);
    if (name[0] == '@') addr.sun_path[0] = '\0';   // abstract namespace: no terminating NUL counted
    socklen_t addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len + (name[0] == '@' ? 0 : 1));
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return false;
    ssize_t n;
    do {
        n = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr), addr_len);
    } while (n < 0 && errno == EINTR);
    ::close(fd);
    return n == static_cast<ssize_t>(state.size());
}

std::string monotonic_usec_field() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned long long usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL + static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
    return "MONOTONIC_USEC=" + std::to_string(usec);
}

bool notify_ready(std::string_view status) {
    std::string s = "READY=1\nSTATUS=";
    s += status;
    return notify(s);
}

bool notify_reloading() {
    return notify("RELOADING=1\n" + monotonic_usec_field() + "\nSTATUS=Reloading the configuration");
}

bool notify_stopping() { return notify("STOPPING=1\nSTATUS=Stopping"); }

}  // namespace rampart::server
