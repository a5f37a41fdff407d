// console/directory_page.cpp — users, groups and servers of the live directory (see the header).
#include "console/directory_page.hpp"

#include <algorithm>

#include "config/config.hpp"
#include "console/console.hpp"
#include "console/ops_pages.hpp"

namespace rampart::console {
namespace {

std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& i : items) out += (out.empty() ? "" : "<br>") + escape(i);
    return out;
}

// The groups that name the user as a member, and those the user's entry names (LDAP).
std::vector<std::string> direct_groups(const directory::Directory& d, const directory::User& u) {
    std::vector<std::string> out = u.groups;
    for (const directory::Group& g : d.groups)
        if (std::find(g.members.begin(), g.members.end(), "user:" + u.name) != g.members.end() &&
            std::find(out.begin(), out.end(), g.name) == out.end())
            out.push_back(g.name);
    return out;
}

}  // namespace

std::vector<std::string> users_in_group(const directory::Directory& d, std::string_view group) {
    std::vector<std::string> out;
    for (const directory::User& u : d.users) {
        auto gs = d.groups_of(u.name);
        if (std::find(gs.begin(), gs.end(), group) != gs.end()) out.push_back(u.name);
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string directory_html(const directory::Directory& d, std::string_view console_group, std::optional<std::string_view> users_page,
                           std::optional<std::string_view> groups_page, std::optional<std::string_view> servers_page) {
    std::string out = "<h2>Users</h2><table id=\"users\"><tr><th>User</th><th>Addresses</th><th>Groups (direct)</th>"
                      "<th>All groups (with nested)</th><th>Console sign-in</th></tr>";
    Paging up = paginate(d.users.size(), users_page);
    for (std::size_t i = up.first; i < up.first + up.count; ++i) {
        const directory::User& u = d.users[i];
        std::vector<std::string> all = d.groups_of(u.name);
        bool admin = std::find(all.begin(), all.end(), console_group) != all.end();
        out += "<tr data-user=\"" + escape(u.name) + "\"><td>" + escape(u.name) + "</td><td>" + joined(u.addresses) + "</td><td>" +
               joined(direct_groups(d, u)) + "</td><td>" + joined(all) + "</td><td>" + (admin ? "yes" : "no") + "</td></tr>";
    }
    out += "</table>" + pager_html(up, "/console/directory", "", "users_page");
    out += "<p class=\"preset\">Members of the group " + escape(console_group) + " (directly or through nested groups) may sign in here.</p>";
    out += "<h2>Groups</h2><table id=\"groups\"><tr><th>Group</th><th>Members</th><th>Every user in it (with nested)</th></tr>";
    Paging gp = paginate(d.groups.size(), groups_page);
    for (std::size_t i = gp.first; i < gp.first + gp.count; ++i) {
        const directory::Group& g = d.groups[i];
        out += "<tr data-group=\"" + escape(g.name) + "\"><td>" + escape(g.name) + "</td><td>" + joined(g.members) + "</td><td>" +
               joined(users_in_group(d, g.name)) + "</td></tr>";
    }
    out += "</table>" + pager_html(gp, "/console/directory", "", "groups_page");
    out += "<h2>Servers</h2><table id=\"servers\"><tr><th>Server</th><th>Addresses</th><th>Certificate (SHA-256)</th><th>Kerberos</th></tr>";
    Paging sp = paginate(d.servers.size(), servers_page);
    for (std::size_t i = sp.first; i < sp.first + sp.count; ++i) {
        const directory::Server& s = d.servers[i];
        out += "<tr><td>" + escape(s.name) + "</td><td>" + joined(s.addresses) + "</td><td><code>" + escape(s.fingerprint) + "</code></td><td>" +
               joined(s.kerberos) + "</td></tr>";
    }
    out += "</table>" + pager_html(sp, "/console/directory", "", "servers_page");
    return out;
}

namespace {

asio::awaitable<admin::HttpResponse> directory_page(const PageRequest& req) {
    const Services& s = req.console.services();
    auto d = s.directory ? s.directory->get() : nullptr;
    auto cfg = s.config ? s.config() : nullptr;
    if (!d || !cfg) co_return req.page("Users and groups", "<div class=\"error\">the directory is not available</div>", 503);
    co_return req.page("Users and groups", directory_html(*d, cfg->admin.console_group, req.field("users_page"), req.field("groups_page"),
                                                          req.field("servers_page")));
}

}  // namespace

void add_directory_page(Console& console) {
    console.page("/console/directory", "Users and groups", {"GET"}, [](const PageRequest& req) { return directory_page(req); });
}

}  // namespace rampart::console
