// The ICAP reply parser and its interpretation: c-icap's real answers (204; 200 with
// X-Infection-Found, X-Violations-Found and a block page), the commercial headers, a 200 that
// hands the message back unchanged, errors, garbage, replies cut short, the bounds.
#include "filter/icap_reply.hpp"

#include <gtest/gtest.h>

#include "filter/icap.hpp"

using namespace rampart::filter;
using Kind = ClamdReply::Kind;

namespace {

const std::string kSent = "From: a@example.test\r\nSubject: x\r\n\r\nhello\r\n";

std::string chunked(const std::string& body) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx", body.size());
    return std::string(size) + "\r\n" + body + "\r\n0\r\n\r\n";
}

// What c-icap 0.5.10's virus_scan answered for EICAR (recorded on loopback).
std::string cicap_infected() {
    std::string http = "HTTP/1.0 403 Forbidden\r\nServer: C-ICAP\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n";
    return "ICAP/1.0 200 OK\r\nServer: C-ICAP/0.5.10\r\nConnection: close\r\nISTag: \"CI0001-x\"\r\n"
           "X-Infection-Found: Type=0; Resolution=2; Threat=Test.EICAR.HDB.UNOFFICIAL;\r\n"
           "X-Violations-Found: 1\r\n\t-\r\n\tTest.EICAR.HDB.UNOFFICIAL\r\n\t0\r\n\t0\r\n"
           "Encapsulated: res-hdr=0, res-body=" + std::to_string(http.size()) + "\r\n\r\n" + http +
           chunked("<html><body><h1>VIRUS FOUND</h1></body></html>");
}

std::string unchanged_200() {
    std::string http = "HTTP/1.1 200 OK\r\nContent-Type: message/rfc822\r\n\r\n";
    return "ICAP/1.0 200 OK\r\nEncapsulated: res-hdr=0, res-body=" + std::to_string(http.size()) + "\r\n\r\n" + http + chunked(kSent);
}

}  // namespace

TEST(IcapReply, NoContentIsClean) {
    auto r = parse_icap_reply("ICAP/1.0 204 Unmodified\r\nServer: C-ICAP/0.5.10\r\nISTag: \"x\"\r\n\r\n", kSent);
    EXPECT_EQ(r.kind, Kind::Clean) << r.error;
}

TEST(IcapReply, CicapInfectionNamesTheThreat) {
    auto r = parse_icap_reply(cicap_infected(), kSent);
    EXPECT_EQ(r.kind, Kind::Infected) << r.error;
    EXPECT_EQ(r.signature, "Test.EICAR.HDB.UNOFFICIAL");
}

TEST(IcapReply, OtherScannersHeaders) {
    auto r = parse_icap_reply("ICAP/1.0 200 OK\r\nX-Virus-ID: EICAR Test String\r\nEncapsulated: null-body=0\r\n\r\n", kSent);
    EXPECT_EQ(r.kind, Kind::Infected);
    EXPECT_EQ(r.signature, "EICAR Test String");
    r = parse_icap_reply("ICAP/1.0 200 OK\r\nX-Violations-Found: 1\r\n\tfile.com\r\n\tW32/Bad\r\n\t42\r\n\t1\r\n"
                         "Encapsulated: null-body=0\r\n\r\n", kSent);
    EXPECT_EQ(r.kind, Kind::Infected);
    EXPECT_EQ(r.signature, "W32/Bad");
    // Infection headers on a 204 still mean infected.
    r = parse_icap_reply("ICAP/1.0 204 No Content\r\nX-Infection-Found: Type=0; Resolution=0;\r\n\r\n", kSent);
    EXPECT_EQ(r.kind, Kind::Infected);
    EXPECT_EQ(r.signature, "unnamed threat");
    // A control byte in the name is made printable.
    r = parse_icap_reply("ICAP/1.0 200 OK\r\nX-Virus-ID: Bad\x01Name\r\nEncapsulated: null-body=0\r\n\r\n", kSent);
    EXPECT_EQ(r.signature, "Bad?Name");
}

TEST(IcapReply, BlockPageOrReplacedBodyIsInfected) {
    std::string http = "HTTP/1.1 403 Forbidden\r\n\r\n";
    auto r = parse_icap_reply("ICAP/1.0 200 OK\r\nEncapsulated: res-hdr=0, res-body=" + std::to_string(http.size()) + "\r\n\r\n" +
                              http + chunked("blocked"), kSent);
    EXPECT_EQ(r.kind, Kind::Infected) << r.error;
    EXPECT_EQ(r.signature, "blocked by the ICAP server (HTTP 403)");
    http = "HTTP/1.1 200 OK\r\n\r\n";
    r = parse_icap_reply("ICAP/1.0 200 OK\r\nEncapsulated: res-hdr=0, res-body=" + std::to_string(http.size()) + "\r\n\r\n" +
                         http + chunked("something else"), kSent);
    EXPECT_EQ(r.kind, Kind::Infected) << r.error;
    EXPECT_EQ(r.signature, "message replaced by the ICAP server");
    // Longer than what was sent: replaced, and the reader stops early.
    r = parse_icap_reply("ICAP/1.0 200 OK\r\nEncapsulated: res-hdr=0, res-body=" + std::to_string(http.size()) + "\r\n\r\n" +
                         http + chunked(kSent + kSent), kSent);
    EXPECT_EQ(r.kind, Kind::Infected) << r.error;
}

TEST(IcapReply, UnchangedMessageIsClean) {
    auto r = parse_icap_reply(unchanged_200(), kSent);
    EXPECT_EQ(r.kind, Kind::Clean) << r.error;
    // Byte by byte it is the same.
    IcapReplyReader reader(kSent.size());
    std::string all = unchanged_200();
    for (char c : all) reader.feed(std::string_view(&c, 1));
    ASSERT_EQ(reader.state(), IcapReplyReader::State::Done) << reader.error();
    EXPECT_EQ(interpret_icap_reply(reader.response(), kSent).kind, Kind::Clean);
}

TEST(IcapReply, ErrorsAndGarbageAreEngineFailures) {
    auto r = parse_icap_reply("ICAP/1.0 500 Server Error\r\n\r\n", kSent);
    EXPECT_EQ(r.kind, Kind::Error);
    EXPECT_EQ(r.error, "ICAP server answered 500 Server Error");
    EXPECT_EQ(parse_icap_reply("ICAP/1.0 404 ICAP Service not found\r\n\r\n", kSent).kind, Kind::Error);
    EXPECT_EQ(parse_icap_reply("ICAP/1.0 100 Continue\r\n\r\n", kSent).kind, Kind::Error);
    EXPECT_EQ(parse_icap_reply("HTTP/1.1 200 OK\r\n\r\n", kSent).kind, Kind::Error);
    EXPECT_EQ(parse_icap_reply("", kSent).error, "the ICAP server closed the connection without a reply");
    EXPECT_EQ(parse_icap_reply("ICAP/1.0 204 No", kSent).error, "the ICAP server closed the connection in the middle of its reply");
    // A 200 cut short in its body, without Encapsulated, with bad offsets or chunk sizes.
    std::string cut = unchanged_200();
    EXPECT_EQ(parse_icap_reply(cut.substr(0, cut.size() - 7), kSent).kind, Kind::Error);
    EXPECT_EQ(parse_icap_reply("ICAP/1.0 200 OK\r\n\r\n", kSent).kind, Kind::Error);
    EXPECT_EQ(parse_icap_reply("ICAP/1.0 200 OK\r\nEncapsulated: res-body=0, res-hdr=10\r\n\r\n", kSent).kind, Kind::Error);
    EXPECT_EQ(parse_icap_reply("ICAP/1.0 200 OK\r\nEncapsulated: res-hdr=0\r\n\r\n", kSent).kind, Kind::Error);
    EXPECT_EQ(parse_icap_reply("ICAP/1.0 200 OK\r\nEncapsulated: res-body=0\r\n\r\nzz\r\n", kSent).kind, Kind::Error);
    EXPECT_EQ(parse_icap_reply("ICAP/1.0 200 OK\r\nEncapsulated: res-body=0\r\n\r\nfffffffffffffffff\r\n", kSent).kind, Kind::Error);
}

TEST(IcapReply, Bounds) {
    std::string big(kIcapMaxHead + 10, 'a');
    IcapReplyReader reader(100);
    EXPECT_EQ(reader.feed("ICAP/1.0 204 OK\r\nX-Long: " + big), IcapReplyReader::State::Error);
    std::string many = "ICAP/1.0 204 OK\r\n";
    for (int i = 0; i < 150; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
    EXPECT_EQ(parse_icap_reply(many + "\r\n", kSent).kind, Kind::Error);
    // An endless chunk-size line.
    IcapReplyReader chunks(100);
    chunks.feed("ICAP/1.0 200 OK\r\nEncapsulated: res-body=0\r\n\r\n");
    EXPECT_EQ(chunks.feed(std::string(kIcapMaxLine + 1, '1')), IcapReplyReader::State::Error);
}

TEST(IcapRequest, EncapsulatedOffsetsMatch) {
    std::string head = icap_request_head("127.0.0.1:1344", "avscan", false, 42);
    EXPECT_EQ(head.rfind("RESPMOD icap://127.0.0.1:1344/avscan ICAP/1.0\r\nHost: 127.0.0.1:1344\r\nAllow: 204\r\n", 0), 0u);
    std::size_t end = head.find("\r\n\r\n") + 4;
    std::string encapsulated = head.substr(end);
    std::size_t res = encapsulated.find("HTTP/1.1 200 OK");
    EXPECT_NE(head.find("Encapsulated: req-hdr=0, res-hdr=" + std::to_string(res) + ", res-body=" + std::to_string(encapsulated.size())),
              std::string::npos) << head;
    EXPECT_NE(encapsulated.find("Content-Length: 42\r\n"), std::string::npos);
    head = icap_request_head("localhost", "scan", true, 7);
    end = head.find("\r\n\r\n") + 4;
    EXPECT_EQ(head.rfind("REQMOD icap://localhost/scan ICAP/1.0\r\n", 0), 0u);
    EXPECT_NE(head.find("Encapsulated: req-hdr=0, req-body=" + std::to_string(head.size() - end)), std::string::npos) << head;
    head = icap_request_head("h", "avscan", false, 5000, 1024);
    EXPECT_NE(head.find("\r\nPreview: 1024\r\nEncapsulated: "), std::string::npos) << head;
}
