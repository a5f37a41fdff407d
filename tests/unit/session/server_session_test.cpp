// Session state machine over a socketpair: no network, real spool in a temp dir.
#include "session/server_session.hpp"

#include "session/session_fixture.hpp"

using namespace rampart;

namespace {
using ServerSessionTest = test::SessionFixture;
}  // namespace

TEST_F(ServerSessionTest, FullTransactionIsSpooledBeforeTheReply) {
    open_transaction("a@outside.test", {"b@example.test"});
    talk("Subject: x\r\n\r\nhello\r\n.\r\n", "250 2.0.0 Ok: queued as ");
    ASSERT_EQ(queued(), 1u);
    EXPECT_EQ(spool_files(), 1u);
    auto msg = spool_->read_message(queued_[0].id);
    ASSERT_TRUE(msg.ok());
    EXPECT_EQ(msg->rfind("Received: from client.test ([203.0.113.7])", 0), 0u) << *msg;
    EXPECT_NE(msg->find("\r\nSubject: x\r\n\r\nhello\r\n"), std::string::npos);
    talk("QUIT\r\n", "221");
}

TEST_F(ServerSessionTest, BareLfNeverEndsData) {
    open_transaction("a@outside.test", {"b@example.test"});
    send("Subject: x\r\n\r\nbody\n.\nMAIL FROM:<evil@outside.test>\r\n.\r\n");
    EXPECT_EQ(read_reply().substr(0, 9), "521 5.5.2");
    EXPECT_EQ(read_reply(), "");   // closed, nothing else answered
    EXPECT_EQ(queued(), 0u);
    EXPECT_EQ(spool_files(), 0u);
}

TEST_F(ServerSessionTest, SequenceErrors) {
    talk("MAIL FROM:<a@b.test>\r\n", "503 5.5.1");
    talk("EHLO c.test\r\n", "250");
    talk("RCPT TO:<b@example.test>\r\n", "503 5.5.1");
    talk("DATA\r\n", "503 5.5.1");
    talk("MAIL FROM:<a@b.test>\r\n", "250");
    talk("MAIL FROM:<a@b.test>\r\n", "503 5.5.1");
    talk("DATA\r\n", "554 5.5.1");
    talk("RSET\r\n", "250");
    talk("NOOP\r\n", "250");
    talk("VRFY root\r\n", "252");
}

TEST_F(ServerSessionTest, RelayDeniedAndLimits) {
    talk("EHLO c.test\r\n", "250");
    talk("MAIL FROM:<a@b.test> SIZE=5000\r\n", "552 5.3.4");
    talk("MAIL FROM:<a@b.test>\r\n", "250");
    talk("RCPT TO:<x@outside.test>\r\n", "550 5.7.1 relaying denied");
    talk("RCPT TO:<x@example.test>\r\n", "250");
    talk("RCPT TO:<y@example.test>\r\n", "250");
    talk("RCPT TO:<z@example.test>\r\n", "452 4.5.3");
}

TEST_F(ServerSessionTest, PipelinedCommandsAnsweredInOrder) {
    talk("EHLO c.test\r\n", "250");
    send("MAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.test>\r\nRCPT TO:<x@outside.test>\r\nDATA\r\n");
    EXPECT_EQ(read_reply().substr(0, 3), "250");
    EXPECT_EQ(read_reply().substr(0, 3), "250");
    EXPECT_EQ(read_reply().substr(0, 3), "550");
    EXPECT_EQ(read_reply().substr(0, 3), "354");
    talk("x\r\n.\r\n", "250 2.0.0");
}

TEST_F(ServerSessionTest, OversizeMessageRefusedAndNothingQueued) {
    open_transaction("a@b.test", {"x@example.test"});
    talk(std::string(900, 'x') + "\r\n" + std::string(900, 'y') + "\r\n.\r\n", "552 5.3.4");
    EXPECT_EQ(queued(), 0u);
    talk("NOOP\r\n", "250");
}

TEST_F(ServerSessionTest, BdatChunksAndSync) {
    talk("EHLO c.test\r\n", "250");
    talk("BDAT 5\r\nhello", "503 5.5.1");
    talk("NOOP\r\n", "250");
    talk("MAIL FROM:<a@b.test>\r\n", "250");
    talk("RCPT TO:<x@example.test>\r\n", "250");
    talk("BDAT 7\r\nSubj: 1", "250 2.0.0 7 octets");
    talk("BDAT 4 LAST\r\n\r\n\r\n", "250 2.0.0 Ok: queued");
    ASSERT_EQ(queued(), 1u);
    auto msg = spool_->read_message(queued_[0].id);
    EXPECT_NE(msg->find("\r\nSubj: 1\r\n\r\n"), std::string::npos);
}

TEST_F(ServerSessionTest, ErrorsBeforeDisconnect) {
    for (int i = 0; i < 4; ++i) talk("BOGUS\r\n", "500");
    send("BOGUS\r\n");
    EXPECT_EQ(read_reply().substr(0, 3), "500");
    EXPECT_EQ(read_reply().substr(0, 9), "421 4.7.0");
}

TEST_F(ServerSessionTest, BareLfInCommandIsRefused) {
    talk("EHLO c.test\n", "500 5.5.2");
    talk("EHLO c.test\r\n", "250");
}

TEST_F(ServerSessionTest, TooManyHopsIsALoop) {
    open_transaction("a@b.test", {"x@example.test"});
    std::string m;
    for (int i = 0; i < 50; ++i) m += "Received: from x\r\n";
    talk(m + "\r\nbody\r\n.\r\n", "554 5.4.6");
    EXPECT_EQ(queued(), 0u);
}
