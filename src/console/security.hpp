// console/security.hpp — the console's request checks, pure: cookies (reading them and the
// Set-Cookie attributes), the same-origin check of a POST, the redirect target after sign-in
// and the form content type.
// Trust: every header comes from whoever reaches the admin listener; each check answers
// "no" to anything it does not plainly recognise.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "admin/http_request.hpp"

namespace rampart::console {

// The cookie names: over TLS with the `__Host-` prefix (the browser then keeps the cookie
// only if it is Secure, has Path=/ and no Domain, so no other site can set or shadow it).
std::string session_cookie_name(bool tls);   // "rampart_session" / "__Host-rampart_session"
std::string login_cookie_name(bool tls);     // the pre-session CSRF cookie of the sign-in form

// The value of cookie `name` in the request's Cookie header, or nullopt.
std::optional<std::string> cookie_value(const admin::HttpRequest& req, std::string_view name);

// A Set-Cookie value: `name=value; Path=/console; HttpOnly; SameSite=Strict`, over TLS
// `Path=/; Secure` instead of the path (the `__Host-` prefix needs Path=/); `max_age`
// (seconds) when given: 0 removes the cookie. No Max-Age: it ends with the browser.
std::string set_cookie(std::string_view name, std::string_view value, bool tls,
                       std::optional<std::chrono::seconds> max_age = std::nullopt);

// The request's Origin (or, without one, its Referer) names the site the request was sent
// to: scheme (https when `tls`), then the Host field exactly. Neither field, "null" or a
// mismatch: false.
bool same_origin(const admin::HttpRequest& req, bool tls);

// The Host field names this machine's loopback: "localhost", 127.0.0.0/8 or [::1], with or
// without a port. Plain HTTP is loopback-only, so any other name reached it through DNS
// rebinding (a foreign site's name pointed at 127.0.0.1): the console refuses it.
bool loopback_host(const admin::HttpRequest& req);

// Where to go after sign-in: `next` only if it is a path of the console ("/console" or
// below, no "//", no "..", no backslash, no control character or space), else "/console".
std::string safe_next(std::string_view next);

// Content-Type is application/x-www-form-urlencoded (parameters such as charset allowed).
bool is_form_content(const admin::HttpRequest& req);

}  // namespace rampart::console
