#include "delivery/maildir.hpp"

#include <sys/stat.h>

#include <set>

#include <gtest/gtest.h>

#include "delivery/local.hpp"

using namespace rampart;
using rampart::delivery::folder_name;

// Issue 14: catch-all folder names collided ("a/b" and "a_b"; ".." and "_..") and could
// carry terminal escapes into `ls`.
TEST(MaildirName, DistinctNamesNeverShareAFolder) {
    std::vector<std::string> names = {"a/b", "a_b", "a%2Fb", "..", "_..", "%2E.", ".", "_.", "", "%", "_",
                                      "a\\b", "a%5Cb", ".hidden", "%2Ehidden", "x\x1b[2J", "x%1B[2J",
                                      "abc\xE2\x80\xAE" "gpj.exe", "\xC2\x9B", "\x9B", "\xC3\xA9", "\xC3", "a.b", "a..b"};
    for (int b = 0; b < 256; ++b)   // upper case folds to lower case (the same mailbox): skipped
        if (b < 'A' || b > 'Z') names.push_back(std::string("n") + static_cast<char>(b));
    std::set<std::string> seen;
    for (const std::string& n : names) {
        std::string f = folder_name(n);
        EXPECT_TRUE(seen.insert(f).second) << "collision on " << f;
        EXPECT_EQ(f.find('/'), std::string::npos) << f;
        EXPECT_NE(f.front(), '.') << f;
        EXPECT_NE(f, "");
        for (unsigned char c : f) EXPECT_FALSE(c < 0x20 || c == 0x7F) << f;
        EXPECT_EQ(f.find("\xE2\x80\xAE"), std::string::npos) << f;
        EXPECT_EQ(f.find("\xC2\x9B"), std::string::npos) << f;
    }
    EXPECT_EQ(folder_name("NA"), folder_name("na"));   // addresses match case-insensitively
    EXPECT_EQ(folder_name("a/b"), "a%2Fb");
    EXPECT_EQ(folder_name(".."), "%2E.");
    EXPECT_EQ(folder_name("Alice.Smith"), "alice.smith");   // ordinary names are unchanged
    EXPECT_EQ(folder_name("j\xC3\xB6rg"), "j\xC3\xB6rg");
    EXPECT_EQ(folder_name("Example.Test"), "example.test");
}

TEST(MaildirName, CatchallQuotedLocalPartsMapToDistinctFolders) {
    std::vector<config::Domain> domains = {{"open.test", config::DomainType::Authoritative}};
    auto folder = [&](const char* a) { return delivery::resolve_local(nullptr, domains, a).maildir; };
    EXPECT_NE(folder("\"a/b\"@open.test"), folder("a_b@open.test"));
    EXPECT_NE(folder("\"..\"@open.test"), folder("_..@open.test"));
    EXPECT_EQ(folder("\"..\"@open.test"), std::filesystem::path("open.test") / "%2E.");
    // A quoted-pair is the same character (RFC 5322 §3.4.1): the same mailbox.
    EXPECT_EQ(folder("\"\\..\"@open.test"), folder("\"..\"@open.test"));
}

TEST(Maildir, FoldersAreCreatedPrivate) {
    char tmpl[] = "/tmp/rampart-maildir-XXXXXX";
    std::filesystem::path root = mkdtemp(tmpl);
    mode_t old = ::umask(022);
    std::filesystem::path md = delivery::maildir_path(root / "mail", "open.test", "someone");
    auto r = delivery::deliver_to_maildir(md, "a@b.test", "someone@open.test", "Subject: x\r\n\r\nx\r\n", "mx.test");
    ::umask(old);
    ASSERT_TRUE(r.ok()) << r.error().message;
    for (const auto& d : {root / "mail", root / "mail" / "open.test", md, md / "new", md / "tmp", md / "cur"}) {
        struct stat st {};
        ASSERT_EQ(::stat(d.c_str(), &st), 0) << d;
        EXPECT_EQ(st.st_mode & 0777, 0700u) << d;
    }
    struct stat st {};
    ASSERT_EQ(::stat((md / "new" / *r).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    std::filesystem::remove_all(root);
}
