// The Received header we prepend: every line within RFC 5322 §2.1.1's 998 octets, even with
// the longest EHLO argument the parser lets through.
#include "session/received.hpp"

#include <gtest/gtest.h>

#include "smtp/command_parser.hpp"

using namespace rampart;

TEST(Received, LinesStayUnder998OctetsWithTheLongestValues) {
    std::string helo = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." + std::string(63, 'd');
    ASSERT_FALSE(smtp::parse_command("EHLO " + helo, false).error);   // the longest accepted
    session::ReceivedFacts f;
    f.helo = helo;
    f.client_ip = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
    f.hostname = helo;
    f.esmtp = f.smtputf8 = f.tls = f.authenticated = true;
    f.tls_description = "TLSv1.3 TLS_CHACHA20_POLY1305_SHA256";
    f.server_principal = "server:" + std::string(200, 's');
    f.id = std::string(24, 'Q');
    f.single_recipient = std::string(64, 'l') + "@" + helo;   // a path is at most 256 octets
    f.when = 4102444800;
    std::string h = session::received_header(f);
    std::size_t start = 0;
    while (start < h.size()) {
        std::size_t end = h.find("\r\n", start);
        ASSERT_NE(end, std::string::npos);
        EXPECT_LE(end - start, 998u) << h.substr(start, 60);
        for (std::size_t i = start; i < end; ++i) {
            unsigned char c = static_cast<unsigned char>(h[i]);
            EXPECT_TRUE(c == '\t' ? i == start : (c >= 32 && c < 127)) << "byte " << int(c);
        }
        start = end + 2;
    }
    // An 8-bit or TAB EHLO never reaches the header: the parser refuses it.
    EXPECT_TRUE(smtp::parse_command("EHLO a\tb", false).error);
    EXPECT_TRUE(smtp::parse_command("EHLO \xc3\xa9.test", false).error);
    EXPECT_TRUE(smtp::parse_command("EHLO " + std::string(2030, 'x'), false).error);
}
