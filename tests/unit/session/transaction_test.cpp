// The filter seam in a live session: verdicts at MAIL, RCPT and end of data become the
// replies, the spool and the hand-off to delivery (quarantine durable with the message,
// discard answered 250 and never stored, edits stored).
#include "session/transaction.hpp"

#include "filter/scripted_agent.hpp"
#include "queue/spool_format.hpp"
#include "session/session_fixture.hpp"

using namespace rampart;
using filter::AgentVerdict;
using filter::Stage;

namespace {

class TransactionFilterTest : public test::SessionFixture {
protected:
    std::string config_text() const override {
        return test::SessionFixture::config_text() + "filters = true\n";
    }
    const filter::Chain* filters() const override { return &chain_; }
    static filter::Chain make_chain(test::Script& s) {
        std::vector<std::unique_ptr<filter::Agent>> v;
        v.push_back(std::make_unique<test::ScriptedAgent>("scripted", s));
        return filter::Chain(std::move(v));
    }
    // Static so the chain exists before SetUp starts the session.
    static inline test::Script script_;
    static inline filter::Chain chain_ = make_chain(script_);
    void TearDown() override {
        test::SessionFixture::TearDown();
        script_.verdicts.clear();
        script_.asked = 0;
    }
};

}  // namespace

TEST_F(TransactionFilterTest, QuarantineIsCommittedWithTheMessageAndHeld) {
    script_.verdicts[Stage::EndOfData] = AgentVerdict::quarantine("content_filter.quarantine_at", "SCL 7");
    open_transaction("a@outside.test", {"b@example.test"});
    talk("Subject: x\r\n\r\nhello\r\n.\r\n", "250 2.0.0 Ok: queued as ");
    ASSERT_EQ(queued(), 1u);
    EXPECT_EQ(queued_[0].quarantine, "scripted: SCL 7");
    EXPECT_TRUE(queued_[0].held);
    // The spool file itself says so: a restart keeps it quarantined.
    auto env = spool_->read_envelope(queued_[0].id);
    ASSERT_TRUE(env.ok());
    EXPECT_EQ(env->quarantine, "scripted: SCL 7");
    EXPECT_TRUE(env->held);
    talk("QUIT\r\n", "221");
}

TEST_F(TransactionFilterTest, DiscardAnswers250AndStoresNothing) {
    script_.verdicts[Stage::EndOfData] = AgentVerdict::discard("transport_rules", "drop");
    open_transaction("a@outside.test", {"b@example.test"});
    talk("Subject: x\r\n\r\nhello\r\n.\r\n", "250 2.0.0 Ok: queued as ");
    EXPECT_EQ(queued(), 0u);
    EXPECT_EQ(spool_files(), 0u);
    talk("QUIT\r\n", "221");
}

TEST_F(TransactionFilterTest, RefusalAtEndOfDataIsTheReplyAndNothingIsStored) {
    script_.verdicts[Stage::EndOfData] = AgentVerdict::refuse(smtp::Reply(554, "5.7.1", "message refused"), "antivirus", "Eicar");
    open_transaction("a@outside.test", {"b@example.test"});
    talk("Subject: x\r\n\r\nhello\r\n.\r\n", "554 5.7.1 message refused");
    EXPECT_EQ(queued(), 0u);
    EXPECT_EQ(spool_files(), 0u);
    // The session goes on: a second transaction is asked again.
    talk("MAIL FROM:<a@outside.test>\r\n", "250");
    talk("QUIT\r\n", "221");
}

TEST_F(TransactionFilterTest, RcptRefusalAndDiscardedRecipient) {
    script_.verdicts[Stage::RcptTo] = AgentVerdict::refuse(smtp::Reply(550, "5.1.1", "recipient blocked"), "recipient_filter.block", "listed");
    talk("EHLO client.test\r\n", "250");
    talk("MAIL FROM:<a@outside.test>\r\n", "250");
    talk("RCPT TO:<b@example.test>\r\n", "550 5.1.1 recipient blocked");
    script_.verdicts[Stage::RcptTo] = AgentVerdict::discard("transport_rules", "drop");
    talk("RCPT TO:<c@example.test>\r\n", "250");
    talk("DATA\r\n", "354");
    talk("Subject: x\r\n\r\nhello\r\n.\r\n", "250");
    EXPECT_EQ(queued(), 0u);   // the only accepted recipient was discarded
    talk("QUIT\r\n", "221");
}

TEST_F(TransactionFilterTest, EditsAreStored) {
    AgentVerdict v = AgentVerdict::proceed();
    v.edits.add_headers = {"X-Filtered: yes"};
    script_.verdicts[Stage::EndOfData] = v;
    open_transaction("a@outside.test", {"b@example.test"});
    talk("Subject: x\r\n\r\nhello\r\n.\r\n", "250 2.0.0 Ok: queued as ");
    ASSERT_EQ(queued(), 1u);
    auto msg = spool_->read_message(queued_[0].id);
    ASSERT_TRUE(msg.ok());
    EXPECT_NE(msg->find("\r\nX-Filtered: yes\r\nSubject: x\r\n\r\nhello\r\n"), std::string::npos) << *msg;
    EXPECT_EQ(queued_[0].size, msg->size());
    talk("QUIT\r\n", "221");
}

TEST_F(TransactionFilterTest, RecipientEditsChangeWhatIsStored) {
    AgentVerdict v = AgentVerdict::proceed("transport_rules.bcc", "copy");
    v.edits.add_recipients = {"archive@example.test"};
    v.edits.remove_recipients = {"c@example.test"};
    script_.verdicts[Stage::EndOfData] = v;
    talk("EHLO client.test\r\n", "250");
    talk("MAIL FROM:<a@outside.test>\r\n", "250");
    talk("RCPT TO:<b@example.test> NOTIFY=SUCCESS\r\n", "250");
    talk("RCPT TO:<c@example.test>\r\n", "250");
    talk("DATA\r\n", "354");
    talk("Subject: x\r\n\r\nhello\r\n.\r\n", "250 2.0.0 Ok: queued as ");
    ASSERT_EQ(queued(), 1u);
    auto env = spool_->read_envelope(queued_[0].id);
    ASSERT_TRUE(env.ok());
    ASSERT_EQ(env->recipients.size(), 2u);
    EXPECT_EQ(env->recipients[0].address, "b@example.test");
    EXPECT_NE(env->recipients[0].notify, 0u);   // the client's DSN request is kept
    EXPECT_EQ(env->recipients[1].address, "archive@example.test");
    talk("QUIT\r\n", "221");
}

TEST_F(TransactionFilterTest, RemovingEveryRecipientStoresNothing) {
    AgentVerdict v = AgentVerdict::proceed("transport_rules.redirect", "nobody");
    v.edits.remove_recipients = {"b@example.test"};
    script_.verdicts[Stage::EndOfData] = v;
    open_transaction("a@outside.test", {"b@example.test"});
    talk("Subject: x\r\n\r\nhello\r\n.\r\n", "250 2.0.0 Ok: queued as ");
    EXPECT_EQ(queued(), 0u);
    EXPECT_EQ(spool_files(), 0u);
    talk("QUIT\r\n", "221");
}

TEST_F(TransactionFilterTest, MailRefusalTempfail) {
    script_.verdicts[Stage::MailFrom] = AgentVerdict::refuse(smtp::Reply(451, "4.7.1", "try later"), "sender_filter", "greylist");
    talk("EHLO client.test\r\n", "250");
    talk("MAIL FROM:<a@outside.test>\r\n", "451 4.7.1 try later");
    talk("RCPT TO:<b@example.test>\r\n", "503");   // no transaction started
    talk("QUIT\r\n", "221");
}
