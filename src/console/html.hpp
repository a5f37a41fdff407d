// console/html.hpp — the web console's HTML: one escape for every value that reaches a page,
// the page layout (navigation, the signed-in user, a sign-out form) and the responses pages
// return. Pure: values in, text out.
// Trust: every argument named `text` or coming from a request, a file or a peer is escaped
// here; only the console's own markup (`body` built with escape()) is inserted as is.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "admin/http_server.hpp"

namespace rampart::console {

// &, <, >, " and ' as entities: safe in element content and in quoted attribute values.
std::string escape(std::string_view text);

struct NavItem {
    std::string path;    // "/console/queue"
    std::string title;   // "Queue"
};

struct Viewer {
    std::string user;    // the signed-in directory user ("" on the login page)
    std::string csrf;    // the session's CSRF token, sent back by every form
};

// The hidden field every POST form carries (<input type=hidden name=csrf ...>).
std::string csrf_input(const Viewer& viewer);

// A whole HTML document: <title>, the style sheet, the navigation (`active` marked), the
// viewer and a sign-out button when signed in, then `body` (already HTML).
std::string layout(std::string_view title, std::string_view body, const Viewer& viewer,
                   const std::vector<NavItem>& nav, std::string_view active);

// text/html response with the console's security headers (no caching, a strict
// Content-Security-Policy, no framing, no MIME sniffing).
admin::HttpResponse html_response(std::string document, int status = 200);

// 303 See Other to `location` (a path of this console), after a POST.
admin::HttpResponse see_other(std::string location);

}  // namespace rampart::console
