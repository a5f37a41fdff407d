// Unit tests for console/security: cookies, the same-origin check, the redirect target and
// the form content type.
#include "console/security.hpp"

#include <gtest/gtest.h>

namespace rampart::console {
namespace {

admin::HttpRequest request(std::vector<std::pair<std::string, std::string>> headers) {
    admin::HttpRequest r;
    r.method = "POST";
    r.target = r.path = "/console/x";
    r.headers = std::move(headers);
    return r;
}

TEST(ConsoleCookies, AttributesPlainAndTls) {
    EXPECT_EQ(session_cookie_name(false), "rampart_session");
    EXPECT_EQ(session_cookie_name(true), "__Host-rampart_session");
    EXPECT_EQ(set_cookie("rampart_session", "abc", false), "rampart_session=abc; Path=/console; HttpOnly; SameSite=Strict");
    // __Host- cookies must be Secure with Path=/ (else the browser drops them).
    EXPECT_EQ(set_cookie("__Host-rampart_session", "abc", true), "__Host-rampart_session=abc; Path=/; Secure; HttpOnly; SameSite=Strict");
    EXPECT_EQ(set_cookie("rampart_session", "", false, std::chrono::seconds(0)),
              "rampart_session=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0");
}

TEST(ConsoleCookies, ReadsTheNamedCookieOnly) {
    auto r = request({{"Cookie", "other=1; rampart_session=abc ;  rampart_login=def"}});
    EXPECT_EQ(*cookie_value(r, "rampart_session"), "abc");
    EXPECT_EQ(*cookie_value(r, "rampart_login"), "def");
    EXPECT_FALSE(cookie_value(r, "rampart"));
    EXPECT_FALSE(cookie_value(request({}), "rampart_session"));
    EXPECT_FALSE(cookie_value(request({{"Cookie", "xrampart_session=abc"}}), "rampart_session"));
}

TEST(ConsoleCsrf, OriginMustMatchHostAndScheme) {
    EXPECT_TRUE(same_origin(request({{"Host", "127.0.0.1:2580"}, {"Origin", "http://127.0.0.1:2580"}}), false));
    EXPECT_FALSE(same_origin(request({{"Host", "127.0.0.1:2580"}, {"Origin", "http://127.0.0.1:2580"}}), true));
    EXPECT_TRUE(same_origin(request({{"Host", "console.example:443"}, {"Origin", "https://console.example:443"}}), true));
    EXPECT_FALSE(same_origin(request({{"Host", "127.0.0.1:2580"}, {"Origin", "http://evil.example"}}), false));
    EXPECT_FALSE(same_origin(request({{"Host", "127.0.0.1:2580"}, {"Origin", "null"}}), false));
    EXPECT_FALSE(same_origin(request({{"Host", "127.0.0.1:2580"}, {"Origin", "http://127.0.0.1:25800"}}), false));
    // Origin wins over Referer when both are there.
    EXPECT_FALSE(same_origin(request({{"Host", "127.0.0.1:2580"}, {"Origin", "http://evil.example"},
                                      {"Referer", "http://127.0.0.1:2580/console"}}), false));
}

TEST(ConsoleCsrf, RefererOnlyWithoutOrigin) {
    EXPECT_TRUE(same_origin(request({{"Host", "127.0.0.1:2580"}, {"Referer", "http://127.0.0.1:2580/console/login"}}), false));
    EXPECT_TRUE(same_origin(request({{"Host", "127.0.0.1:2580"}, {"Referer", "http://127.0.0.1:2580"}}), false));
    EXPECT_FALSE(same_origin(request({{"Host", "127.0.0.1:2580"}, {"Referer", "http://127.0.0.1:2580.evil.example/"}}), false));
    EXPECT_FALSE(same_origin(request({{"Host", "127.0.0.1:2580"}, {"Referer", "http://127.0.0.1:25800/"}}), false));
    EXPECT_FALSE(same_origin(request({{"Host", "127.0.0.1:2580"}}), false));
    EXPECT_FALSE(same_origin(request({{"Origin", "http://127.0.0.1:2580"}}), false));   // no Host
}

TEST(ConsoleHost, PlainHttpAnswersLoopbackNamesOnly) {
    for (const char* ok : {"127.0.0.1:2580", "127.0.0.1", "127.1.2.3:80", "localhost:2580", "LOCALHOST", "[::1]:2580", "[::1]"})
        EXPECT_TRUE(loopback_host(request({{"Host", ok}}))) << ok;
    for (const char* bad : {"evil.example:2580", "rebind.evil.example", "192.0.2.1:2580", "[::2]:2580", "[::1", "[::1]x",
                            "localhost.evil.example", "", "128.0.0.1"})
        EXPECT_FALSE(loopback_host(request({{"Host", bad}}))) << bad;
    EXPECT_FALSE(loopback_host(request({})));
}

TEST(ConsoleRedirect, OnlyConsolePathsAreFollowed) {
    EXPECT_EQ(safe_next("/console"), "/console");
    EXPECT_EQ(safe_next("/console/queue?state=held"), "/console/queue?state=held");
    EXPECT_EQ(safe_next("/console?x=1"), "/console?x=1");
    for (std::string_view bad : {"", "https://evil.example/", "//evil.example/console", "/consolex", "/metrics",
                                 "/console//evil.example", "/console/../metrics", "/console/\\evil", "/console/a b",
                                 "/console/\r\nSet-Cookie: x=1", "javascript:alert(1)", "/console/login", "/console/login?next=/x",
                                 "/console/\x80"})
        EXPECT_EQ(safe_next(bad), "/console") << bad;
}

TEST(ConsoleForm, ContentTypeMustBeUrlencoded) {
    EXPECT_TRUE(is_form_content(request({{"Content-Type", "application/x-www-form-urlencoded"}})));
    EXPECT_TRUE(is_form_content(request({{"Content-Type", "Application/X-WWW-Form-Urlencoded; charset=UTF-8"}})));
    EXPECT_FALSE(is_form_content(request({{"Content-Type", "multipart/form-data; boundary=x"}})));
    EXPECT_FALSE(is_form_content(request({{"Content-Type", "text/plain"}})));
    EXPECT_FALSE(is_form_content(request({})));
}

}  // namespace
}  // namespace rampart::console
