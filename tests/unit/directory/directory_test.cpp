#include "directory/directory.hpp"

#include <crypt.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "auth/password.hpp"

using namespace rampart;

namespace {
std::filesystem::path temp_file(const std::string& text) {
    char tmpl[] = "/tmp/rampart-dir-XXXXXX";
    std::filesystem::path dir = mkdtemp(tmpl);
    std::ofstream(dir / "directory.toml") << text;
    return dir / "directory.toml";
}
}  // namespace

TEST(Directory, NestedGroupsResolveWithoutLooping) {
    directory::Directory d;
    d.users.push_back({"app1", {"app1@example.test"}, {"direct"}, "", false, {}, {}});
    d.groups.push_back({"apps", {"user:app1"}});
    d.groups.push_back({"relay-apps", {"group:apps"}});
    d.groups.push_back({"loop-a", {"group:loop-b", "group:relay-apps"}});
    d.groups.push_back({"loop-b", {"group:loop-a"}});
    auto g = d.groups_of("app1");
    EXPECT_EQ(g, (std::vector<std::string>{"apps", "direct", "loop-a", "loop-b", "relay-apps"}));
    EXPECT_TRUE(d.groups_of("nobody").empty());
}

TEST(Directory, SaveAndLoadRoundTrip) {
    auto path = temp_file("");
    directory::Directory d;
    auto h = auth::hash_password("secret");
    ASSERT_TRUE(h.ok());
    d.users.push_back({"a\"b", {"x@example.test"}, {"g"}, *h, true, {"ab@EXAMPLE.TEST"}, {}});
    d.groups.push_back({"g", {"user:a\"b"}});
    ASSERT_TRUE(d.save(path).ok());
    auto loaded = directory::Directory::load(path);
    ASSERT_TRUE(std::holds_alternative<directory::Directory>(loaded));
    auto& l = std::get<directory::Directory>(loaded);
    ASSERT_EQ(l.users.size(), 1u);
    EXPECT_EQ(l.users[0].name, "a\"b");
    EXPECT_TRUE(l.users[0].send_as_any);
    EXPECT_EQ(l.users[0].kerberos, (std::vector<std::string>{"ab@EXAMPLE.TEST"}));
    EXPECT_TRUE(auth::verify_password(l.users[0].password, "secret"));
    EXPECT_FALSE(auth::verify_password(l.users[0].password, "Secret"));
    std::filesystem::remove_all(path.parent_path());
}

TEST(Directory, CleartextPasswordsAndUnknownKeysAreErrors) {
    auto path = temp_file("[[users]]\nname = \"a\"\npassword = \"hunter2\"\ncolour = 1\n[[groups]]\nname = \"g\"\nmembers = [\"a\"]\n");
    auto loaded = directory::Directory::load(path);
    ASSERT_TRUE(std::holds_alternative<std::vector<std::string>>(loaded));
    auto& errors = std::get<std::vector<std::string>>(loaded);
    ASSERT_EQ(errors.size(), 3u);
    std::string all;
    for (const auto& e : errors) all += e + "\n";
    EXPECT_NE(all.find(":1: user a: password must be an argon2id or yescrypt hash"), std::string::npos) << all;
    EXPECT_NE(all.find("user a: unknown key colour"), std::string::npos) << all;
    EXPECT_NE(all.find(":5: group g: member \"a\" must be"), std::string::npos) << all;
    std::filesystem::remove_all(path.parent_path());
}

TEST(Password, YescryptHashesVerify) {
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    ASSERT_NE(crypt_gensalt_rn("$y$", 0, nullptr, 0, salt, sizeof salt), nullptr);
    crypt_data data{};
    const char* h = crypt_r("secret", salt, &data);
    ASSERT_NE(h, nullptr);
    std::string y = h;
    ASSERT_EQ(y.rfind("$y$", 0), 0u);
    EXPECT_TRUE(auth::verify_password(y, "secret"));
    EXPECT_FALSE(auth::verify_password(y, "wrong"));
    EXPECT_FALSE(auth::verify_password("plain", "plain"));
}

TEST(Directory, ServerFingerprintsAreNormalisedAndChecked) {
    std::string fp;
    for (int i = 0; i < 32; ++i) fp += std::string(i ? ":" : "") + "0F";
    auto ok = directory::Directory::load(temp_file("[[servers]]\nname = \"edge1\"\naddresses = []\nfingerprint = \"" + fp + "\"\n"));
    ASSERT_TRUE(std::holds_alternative<directory::Directory>(ok));
    const auto& d = std::get<directory::Directory>(ok);
    std::string want;
    for (int i = 0; i < 32; ++i) want += "0f";
    ASSERT_NE(d.server_by_fingerprint(want), nullptr);
    EXPECT_EQ(d.server_by_fingerprint(want)->name, "edge1");
    EXPECT_EQ(d.server("edge1"), d.server_by_fingerprint(want));
    EXPECT_EQ(d.server_by_fingerprint(""), nullptr);
    auto bad = directory::Directory::load(temp_file("[[servers]]\nname = \"edge1\"\nfingerprint = \"abc\"\n"));
    ASSERT_TRUE(std::holds_alternative<std::vector<std::string>>(bad));
    EXPECT_NE(std::get<std::vector<std::string>>(bad).front().find("64 hex digits"), std::string::npos);
}

// 50,000 nested tables used to crash the TOML library (and with it a server reloading the
// directory on SIGHUP); now the file is refused with its line before it is parsed.
TEST(Directory, DeepNestingIsRefusedBeforeParsing) {
    std::string text = "[[users]]\nname = \"alice\"\n\n[";
    for (int i = 0; i < 50000; ++i) text += "x.";
    text += "x]\n";
    auto path = temp_file(text);
    auto r = directory::Directory::load(path);
    ASSERT_TRUE(std::holds_alternative<std::vector<std::string>>(r));
    const auto& errors = std::get<std::vector<std::string>>(r);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].rfind(path.string() + ":4: ", 0), 0u) << errors[0];
    EXPECT_NE(errors[0].find("nested more than 64 levels"), std::string::npos) << errors[0];
}

// Found by tests/fuzz/directory_loader (corpus: escapes): to_toml() wrote control
// characters raw, which TOML refuses, so a saved directory did not load again.
TEST(Directory, ControlCharactersInNamesSurviveSaveAndLoad) {
    directory::Directory d;
    std::string odd = std::string("a\tb\nc\x01") + '\0' + "d\x7f\"\\";
    d.users.push_back({odd, {"x@example.test"}, {odd}, "", false, {}, {}});
    d.groups.push_back({odd, {"user:" + odd}});
    d.aliases.push_back({"alias@example.test", {"user:" + odd}});
    auto loaded = directory::Directory::parse(d.to_toml(), "saved.toml");
    ASSERT_TRUE(std::holds_alternative<directory::Directory>(loaded))
        << std::get<std::vector<std::string>>(loaded).front();
    const auto& l = std::get<directory::Directory>(loaded);
    ASSERT_EQ(l.users.size(), 1u);
    EXPECT_EQ(l.users[0].name, odd);
    EXPECT_EQ(l.users[0].groups, (std::vector<std::string>{odd}));
    ASSERT_EQ(l.groups.size(), 1u);
    EXPECT_EQ(l.groups[0].members, (std::vector<std::string>{"user:" + odd}));
}

// A directory file given to the server's user ([server] user reads it on SIGHUP after the
// privilege drop) stays its own after `rampart user add` (run as root) rewrites it.
TEST(DirectorySave, KeepsOwnerAndMode) {
    auto path = temp_file("");
    ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
    bool root = ::geteuid() == 0;
    if (root) {
        ASSERT_EQ(::chown(path.c_str(), 4321, 4322), 0);
    }
    directory::Directory d;
    d.users.push_back(directory::User{"alice", {"alice@example.test"}, {}, "", false, {}, ""});
    ASSERT_TRUE(d.save(path).ok());
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    if (root) {
        EXPECT_EQ(st.st_uid, 4321u);
        EXPECT_EQ(st.st_gid, 4322u);
    }
    std::filesystem::remove_all(path.parent_path());
}
