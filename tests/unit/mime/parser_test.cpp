// Golden corpus (cases/NAME.eml → cases/NAME.expected, the mime::dump of its structure),
// structural invariants on every case, and the bounds the parser promises: a 50 MiB
// message with 10,000 parts, header bombs, near-miss boundary lines, part and depth limits.
// RAMPART_MIME_UPDATE=1 rewrites the .expected files (read every change before committing).
#include "mime/parser.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>

using namespace rampart::mime;
namespace fs = std::filesystem;

namespace {

fs::path cases_dir() { return fs::path(RAMPART_UNIT_DIR) / "mime" / "cases"; }

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<std::string> case_names() {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(cases_dir()))
        if (e.path().extension() == ".eml") names.push_back(e.path().stem().string());
    std::sort(names.begin(), names.end());
    return names;
}

std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

// A line diff good enough for short dumps: common prefix and suffix, then -/+ the middle.
std::string diff(const std::string& expected, const std::string& actual) {
    auto a = lines(expected), b = lines(actual);
    std::size_t pre = 0;
    while (pre < a.size() && pre < b.size() && a[pre] == b[pre]) ++pre;
    std::size_t suf = 0;
    while (suf < a.size() - pre && suf < b.size() - pre && a[a.size() - 1 - suf] == b[b.size() - 1 - suf]) ++suf;
    std::string out = "@@ line " + std::to_string(pre + 1) + "\n";
    for (std::size_t i = pre; i < a.size() - suf; ++i) out += "-" + a[i] + "\n";
    for (std::size_t i = pre; i < b.size() - suf; ++i) out += "+" + b[i] + "\n";
    return out;
}

// What every Structure must satisfy, whatever the input.
void check_invariants(const Structure& s, std::size_t size, const Limits& lim = {}) {
    ASSERT_FALSE(s.parts.empty());
    ASSERT_LE(s.parts.size(), lim.max_parts);
    std::uint32_t all = 0;
    for (std::size_t i = 0; i < s.parts.size(); ++i) {
        const Part& p = s.parts[i];
        SCOPED_TRACE("part " + std::to_string(i));
        EXPECT_LE(p.delimiter_begin, p.header_begin);
        EXPECT_LE(p.header_begin, p.header_end);
        EXPECT_LE(p.header_end, p.body_begin);
        EXPECT_LE(p.body_begin, p.body_end);
        EXPECT_LE(p.body_end, size);
        EXPECT_LE(p.depth, lim.max_depth);
        EXPECT_LE(p.filename.size(), lim.max_param_bytes);
        EXPECT_LE(p.name.size(), lim.max_param_bytes);
        EXPECT_LE(p.content_type.params.size(), lim.max_params);
        if (i == 0) {
            EXPECT_EQ(p.parent, no_parent);
        } else {
            ASSERT_LT(p.parent, i);
            const Part& parent = s.parts[p.parent];
            EXPECT_EQ(p.depth, parent.depth + 1);
            EXPECT_GE(p.header_begin, parent.body_begin);
            EXPECT_LE(p.body_end, parent.body_end);
        }
        all |= p.flags.bits;
    }
    EXPECT_EQ(all, s.flags.bits);
}

class Corpus : public ::testing::TestWithParam<std::string> {};

TEST_P(Corpus, DumpMatchesExpected) {
    const std::string name = GetParam();
    const std::string eml = read(cases_dir() / (name + ".eml"));
    // An exact-size heap copy: no NUL after the message, so ASan sees any over-read.
    std::unique_ptr<char[]> exact(new char[eml.size() + 1]);
    std::copy(eml.begin(), eml.end(), exact.get());
    std::string_view in(exact.get(), eml.size());
    Structure s = parse(in);
    check_invariants(s, in.size());
    std::string actual = dump(s);
    fs::path expected_path = cases_dir() / (name + ".expected");
    if (const char* u = std::getenv("RAMPART_MIME_UPDATE"); u && std::string(u) == "1") {
        std::ofstream(expected_path, std::ios::binary) << actual;
        return;
    }
    ASSERT_TRUE(fs::exists(expected_path)) << expected_path << " missing; actual:\n" << actual;
    std::string expected = read(expected_path);
    EXPECT_EQ(expected, actual) << name << ".expected differs:\n" << diff(expected, actual);
}

INSTANTIATE_TEST_SUITE_P(Cases, Corpus, ::testing::ValuesIn(case_names()),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                             std::string n = i.param;
                             for (char& c : n)
                                 if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                             return n;
                         });

TEST(CorpusSize, AtLeastTwentyCases) { EXPECT_GE(case_names().size(), 20u); }

std::string crlf(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

// Memory a Structure holds, strings included.
std::size_t footprint(const Structure& s, std::size_t* largest_string) {
    std::size_t total = s.parts.capacity() * sizeof(Part);
    *largest_string = 0;
    auto str = [&](const std::string& x) {
        total += x.capacity() > 15 ? x.capacity() : 0;
        *largest_string = std::max(*largest_string, x.size());
    };
    for (const Part& p : s.parts) {
        str(p.content_type.type);
        str(p.content_type.subtype);
        str(p.disposition);
        str(p.filename);
        str(p.name);
        total += p.content_type.params.capacity() * sizeof(Param);
        for (const Param& prm : p.content_type.params) {
            str(prm.name);
            str(prm.value);
        }
    }
    return total;
}

}  // namespace

TEST(Parser, FiftyMebibytesInTenThousandParts) {
    std::string body(5200, 'A');   // base64 of zeros, 76-column lines
    std::string b64;
    for (std::size_t i = 0; i < body.size(); i += 76) b64 += body.substr(i, 76) + "\r\n";
    std::string msg = crlf("From: a@example.test\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"big\"\n\n");
    msg.reserve(51u << 20);
    for (int i = 0; i < 10000; ++i) {
        msg += "--big\r\nContent-Type: application/octet-stream; name=\"f" + std::to_string(i) +
               ".bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n";
        msg += b64;
    }
    msg += "--big--\r\n";
    ASSERT_GT(msg.size(), 50u << 20);
    Structure s = parse(msg);
    check_invariants(s, msg.size());
    ASSERT_EQ(s.parts.size(), 10001u);
    EXPECT_FALSE(s.malformed()) << flag_names(s.flags);
    EXPECT_EQ(s.parts[0].children, 10000u);
    EXPECT_EQ(s.parts[10000].name, "f9999.bin");
    std::size_t largest = 0;
    std::size_t bytes = footprint(s, &largest);
    EXPECT_LE(largest, Limits{}.max_param_bytes);
    EXPECT_LT(bytes, 8u << 20) << "structure of a 50 MiB message holds " << bytes << " bytes";
}

TEST(Parser, MillionsOfHeaderLinesAreBounded) {
    std::string msg;
    msg.reserve(14u << 20);
    for (int i = 0; i < 2000000; ++i) msg += "X-A: b\r\n";
    msg += "Content-Type: application/x-never-read\r\n\r\nbody\r\n";
    Structure s = parse(msg);
    check_invariants(s, msg.size());
    ASSERT_EQ(s.parts.size(), 1u);
    EXPECT_TRUE(s.flags.has(Flag::TooManyHeaders));
    EXPECT_TRUE(s.flags.has(Flag::HeaderTooLong));
    EXPECT_EQ(s.parts[0].content_type.mime_type(), "text/plain");   // past the limits: not read
    EXPECT_EQ(msg.substr(s.parts[0].body_begin), "body\r\n");     // but the header's end is found
}

TEST(Parser, TenMegabyteHeaderFieldIsBounded) {
    std::string msg = "Content-Type: multipart/mixed; boundary=\"" + std::string(10u << 20, 'b') + "\"\r\n\r\nx\r\n";
    Structure s = parse(msg);
    check_invariants(s, msg.size());
    EXPECT_TRUE(s.flags.has(Flag::HeaderTooLong));
    EXPECT_FALSE(s.parts[0].content_type.declared);
    std::string folded = "Subject: a\r\n";
    for (int i = 0; i < 1000000; ++i) folded += " continued\r\n";
    folded += "\r\nbody";
    Structure f = parse(folded);
    EXPECT_TRUE(f.flags.has(Flag::HeaderTooLong));
    EXPECT_EQ(folded.substr(f.parts[0].body_begin), "body");
}

TEST(Parser, NearMissBoundaryLinesInDeepNesting) {
    // 32 nested multiparts whose boundaries share a long prefix, then 200,000 lines that
    // match one of them plus a stray byte and the others but for their last byte: each line
    // costs one compare per level, so the scan stays linear.
    std::string prefix(60, 'q');
    std::string msg;
    for (int i = 0; i < 32; ++i)
        msg += "Content-Type: multipart/mixed; boundary=\"" + prefix + std::to_string(i % 10) + "\"\r\n\r\n--" + prefix +
               std::to_string(i % 10) + "\r\n";
    msg += "Content-Type: text/plain\r\n\r\n";
    for (int i = 0; i < 200000; ++i) msg += "--" + prefix + "0X\r\n";
    Structure s = parse(msg);
    check_invariants(s, msg.size());
    EXPECT_TRUE(s.flags.has(Flag::BoundaryLikeLine));
    EXPECT_TRUE(s.flags.has(Flag::MissingCloseBoundary));
}

TEST(Parser, PartLimitStopsRecordingButKeepsStructure) {
    std::string msg = crlf("Content-Type: multipart/mixed; boundary=b\n\n");
    for (int i = 0; i < 20; ++i) msg += crlf("--b\nContent-Type: text/plain\n\npart\n");
    msg += crlf("--b--\nepilogue\n");
    Limits lim;
    lim.max_parts = 5;
    Structure s = parse(msg, lim);
    check_invariants(s, msg.size(), lim);
    EXPECT_EQ(s.parts.size(), 5u);
    EXPECT_TRUE(s.parts[0].flags.has(Flag::TooManyParts));
    EXPECT_FALSE(s.flags.has(Flag::MissingCloseBoundary));   // the close delimiter was still found
}

TEST(Parser, DepthLimitMakesOpaqueLeaf) {
    std::string msg;
    for (int i = 0; i < 5; ++i) msg += "Content-Type: multipart/mixed; boundary=L" + std::to_string(i) + "\r\n\r\n--L" + std::to_string(i) + "\r\n";
    msg += "Content-Type: text/plain\r\n\r\nleaf\r\n";
    for (int i = 4; i >= 0; --i) msg += "--L" + std::to_string(i) + "--\r\n";
    Limits lim;
    lim.max_depth = 2;
    Structure s = parse(msg, lim);
    check_invariants(s, msg.size(), lim);
    ASSERT_EQ(s.parts.size(), 3u);
    EXPECT_TRUE(s.parts[2].flags.has(Flag::TooDeep));
    EXPECT_TRUE(s.parts[2].is_leaf());
    Structure full = parse(msg);
    EXPECT_EQ(full.parts.size(), 6u);
    EXPECT_FALSE(full.malformed()) << flag_names(full.flags);
}

TEST(Parser, InnermostBoundaryWinsWhenNestedBoundariesAreEqual) {
    std::string msg = crlf(
        "Content-Type: multipart/mixed; boundary=same\n\n--same\nContent-Type: multipart/mixed; boundary=same\n\n"
        "--same\n\ninner\n--same--\n--same--\n");
    Structure s = parse(msg);
    check_invariants(s, msg.size());
    ASSERT_EQ(s.parts.size(), 3u);
    EXPECT_EQ(s.parts[2].depth, 2u);
}

TEST(Parser, CrlfMessageHasNoBareLineEndFlag) {
    std::string msg = crlf("Content-Type: text/plain\n\nline\n");
    EXPECT_FALSE(parse(msg).flags.has(Flag::BareLineEnd));
    EXPECT_TRUE(parse("Content-Type: text/plain\r\n\r\nline\nx\r\n").flags.has(Flag::BareLineEnd));
}

TEST(Parser, FirstReasonNamesTheProblem) {
    Structure s = parse(crlf("Content-Type: multipart/mixed; boundary=x\n\n--x\n\nnever closed\n"));
    EXPECT_TRUE(s.malformed());
    EXPECT_EQ(first_reason(s.flags), "multipart without closing boundary");
}
