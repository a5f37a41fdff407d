// Fuzz target: the directory file loader (directory::Directory::parse, what `serve` and
// every `rampart user|group|alias|server` command read). Any text gives a directory or
// errors naming the file; a directory read is saved (to_toml) in a form that reads back
// to the same entries. Never a crash, a stack overflow or a hang.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "directory/directory.hpp"

using rampart::directory::Directory;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto r = Directory::parse(in, "fuzz.toml");
    if (auto* errors = std::get_if<std::vector<std::string>>(&r)) {
        if (errors->empty()) std::abort();
        for (const std::string& e : *errors)
            if (e.rfind("fuzz.toml", 0) != 0) std::abort();
        return 0;
    }
    const Directory& d = std::get<Directory>(r);
    for (const auto& u : d.users) (void)d.groups_of(u.name);
    std::string saved = d.to_toml();
    auto again = Directory::parse(saved, "saved.toml");
    if (!std::holds_alternative<Directory>(again)) std::abort();
    const Directory& e = std::get<Directory>(again);
    if (e.users.size() != d.users.size() || e.groups.size() != d.groups.size() || e.servers.size() != d.servers.size() ||
        e.aliases.size() != d.aliases.size())
        std::abort();
    for (std::size_t i = 0; i < d.users.size(); ++i)
        if (e.users[i].name != d.users[i].name || e.users[i].addresses != d.users[i].addresses ||
            e.users[i].groups != d.users[i].groups || e.users[i].password != d.users[i].password ||
            e.users[i].send_as_any != d.users[i].send_as_any || e.users[i].kerberos != d.users[i].kerberos)
            std::abort();
    for (std::size_t i = 0; i < d.groups.size(); ++i)
        if (e.groups[i].name != d.groups[i].name || e.groups[i].members != d.groups[i].members) std::abort();
    for (std::size_t i = 0; i < d.servers.size(); ++i)
        if (e.servers[i].name != d.servers[i].name || e.servers[i].addresses != d.servers[i].addresses ||
            e.servers[i].fingerprint != d.servers[i].fingerprint || e.servers[i].kerberos != d.servers[i].kerberos)
            std::abort();
    for (std::size_t i = 0; i < d.aliases.size(); ++i)
        if (e.aliases[i].address != d.aliases[i].address || e.aliases[i].targets != d.aliases[i].targets) std::abort();
    return 0;
}
