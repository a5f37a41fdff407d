// console/html.cpp — escaping, the layout and the responses (see the header).
#include "console/html.hpp"

namespace rampart::console {

std::string escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string csrf_input(const Viewer& viewer) {
    return "<input type=\"hidden\" name=\"csrf\" value=\"" + escape(viewer.csrf) + "\">";
}

namespace {

// The one style sheet, inline (the Content-Security-Policy allows no other source).
constexpr std::string_view kStyle = R"(
body{font-family:system-ui,sans-serif;margin:0;color:#1d2329;background:#f4f6f8}
header{background:#1f3a56;color:#fff;padding:.6em 1.2em;display:flex;align-items:center;gap:1.5em}
header a{color:#dfe9f3;text-decoration:none}header a.active{color:#fff;font-weight:bold;border-bottom:2px solid #fff}
header .who{margin-left:auto}header form{display:inline}
main{padding:1.2em;max-width:70em}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.4em}
table{border-collapse:collapse;background:#fff;margin:.5em 0}
th,td{border:1px solid #c9d1d9;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#e8edf2}
fieldset{background:#fff;border:1px solid #c9d1d9;margin:.8em 0;padding:.6em 1em}
legend{font-weight:bold}
.preset{color:#57606a;font-size:.9em}
.warning{background:#fff4d6;border-left:4px solid #d4a72c;padding:.4em .8em;margin:.4em 0}
.error{background:#ffe3e3;border-left:4px solid #c93c3c;padding:.4em .8em;margin:.4em 0}
.ok{background:#e3f6e8;border-left:4px solid #2f9e56;padding:.4em .8em;margin:.4em 0}
pre{background:#fff;border:1px solid #c9d1d9;padding:.6em;white-space:pre-wrap;overflow-wrap:anywhere}
button{cursor:pointer}
)";

}  // namespace

std::string layout(std::string_view title, std::string_view body, const Viewer& viewer,
                   const std::vector<NavItem>& nav, std::string_view active) {
    std::string out = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>";
    out += escape(title);
    out += " — rampart</title><style>";
    out += kStyle;
    out += "</style></head><body><header><strong>rampart</strong>";
    if (!viewer.user.empty()) {
        out += "<nav>";
        for (const NavItem& item : nav) {
            out += "<a href=\"" + escape(item.path) + "\"";
            if (item.path == active) out += " class=\"active\"";
            out += ">" + escape(item.title) + "</a> ";
        }
        out += "</nav><span class=\"who\">" + escape(viewer.user) +
               " <form method=\"post\" action=\"/console/logout\">" + csrf_input(viewer) +
               "<button type=\"submit\" id=\"logout\">Sign out</button></form></span>";
    }
    out += "</header><main><h1>";
    out += escape(title);
    out += "</h1>\n";
    out += body;
    out += "\n</main></body></html>\n";
    return out;
}

admin::HttpResponse html_response(std::string document, int status) {
    admin::HttpResponse r;
    r.status = status;
    r.content_type = "text/html; charset=utf-8";
    r.body = std::move(document);
    r.headers.emplace_back("Cache-Control", "no-store");
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'");
    r.headers.emplace_back("X-Frame-Options", "DENY");
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    // same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on a form
    // POST, and the console's CSRF check needs the real Origin (console/security.hpp).
    r.headers.emplace_back("Referrer-Policy", "same-origin");
    return r;
}

admin::HttpResponse see_other(std::string location) {
    admin::HttpResponse r = html_response("", 303);
    r.headers.emplace_back("Location", std::move(location));
    return r;
}

}  // namespace rampart::console
