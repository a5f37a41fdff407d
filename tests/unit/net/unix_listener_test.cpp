// net::UnixListener on a real socket file: the mode asked for whatever the umask, a stale
// file replaced, connections handed on, the file removed by close(), and a path too long
// for a socket address refused with the fix.
#include "net/unix_listener.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

namespace rampart::net {
namespace {

class UnixListenerTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/rampart-unix-listener-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    static mode_t mode_of(const std::filesystem::path& p) {
        struct stat st {};
        EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
        return st.st_mode & 07777;
    }

    asio::io_context ctx_;
    std::filesystem::path dir_;
};

TEST_F(UnixListenerTest, HasTheModeAskedForWhateverTheUmask) {
    for (mode_t mode : {mode_t{0600}, mode_t{0666}}) {
        for (mode_t umask : {mode_t{0}, mode_t{077}}) {
            mode_t old = ::umask(umask);
            auto l = UnixListener::open(ctx_.get_executor(), dir_ / "s.sock", mode, 4, "test socket");
            ::umask(old);
            ASSERT_TRUE(l.ok()) << l.error().message;
            EXPECT_EQ(mode_of(dir_ / "s.sock"), mode) << "umask " << umask;
            (*l)->close();
            EXPECT_FALSE(std::filesystem::exists(dir_ / "s.sock"));
        }
    }
}

TEST_F(UnixListenerTest, ReplacesAStaleFileAndHandsOnConnections) {
    std::ofstream(dir_ / "s.sock") << "left by a server that died";
    auto l = UnixListener::open(ctx_.get_executor(), dir_ / "s.sock", 0600, 4, "test socket");
    ASSERT_TRUE(l.ok()) << l.error().message;
    std::string greeting = "hello\n";
    int handed = 0;
    (*l)->accept([&](UnixListener::Socket s) {
        ++handed;
        asio::write(s, asio::buffer(greeting));
    });
    asio::local::stream_protocol::socket client(ctx_);
    client.connect(asio::local::stream_protocol::endpoint((dir_ / "s.sock").string()));
    while (handed == 0) ctx_.run_one();   // bounded by the connection made above
    std::string got(greeting.size(), '\0');
    asio::read(client, asio::buffer(got));
    EXPECT_EQ(got, greeting);
    l.value().reset();   // the destructor closes too: the file goes
    EXPECT_FALSE(std::filesystem::exists(dir_ / "s.sock"));
    ctx_.run();   // the accept loop ends (operation_aborted) without touching the listener
}

TEST_F(UnixListenerTest, APathTooLongNamesTheSocketAndTheFix) {
    std::filesystem::path p = dir_ / (std::string(120, 'x') + ".sock");
    auto l = UnixListener::open(ctx_.get_executor(), p, 0600, 4, "control socket");
    ASSERT_FALSE(l.ok());
    EXPECT_EQ(l.error().code, ENAMETOOLONG);
    EXPECT_NE(l.error().message.find("control socket path " + p.string() + " is too long"), std::string::npos) << l.error().message;
    EXPECT_NE(l.error().message.find("use a shorter server.data_dir"), std::string::npos);
    EXPECT_FALSE(fits_unix_socket_address(p));
    EXPECT_TRUE(fits_unix_socket_address(dir_ / "s.sock"));
}

}  // namespace
}  // namespace rampart::net
