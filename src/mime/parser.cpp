// mime/parser.cpp — the one-pass MIME structure parser (see header).
//
// The parser walks the input line by line exactly once. A recursive descent follows the
// entities (recursion depth is at most max_depth + 1); the boundaries of the enclosing
// multiparts are kept on a stack, and every line starting with "--" is matched against them,
// innermost first (RFC 2046 §5.1.2: an outer boundary also ends the inner parts). Each call
// returns the delimiter that ended its entity, so the caller continues where the child
// stopped and nothing is scanned twice.
#include "mime/parser.hpp"

#include <cstring>
#include <string>
#include <vector>

#include "mime/header.hpp"
#include "mime/sniff.hpp"
#include "mime/transfer_decoder.hpp"

namespace rampart::mime {

namespace {

struct Delim {
    std::size_t delim_begin = 0;   // where the delimiter starts: its preceding line end, if any
    std::size_t next = 0;          // after the delimiter line
    int level = -1;                // boundary stack index; -1: end of input
    bool close = false;            // "--boundary--"
};

struct Line {
    std::size_t begin, end, next;   // content [begin, end), next line at `next`
    bool bare_lf;
};

struct Fields {
    std::string_view content_type, encoding, disposition;
};

bool bchar(char c) {   // RFC 2046 §5.1.1
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    return std::strchr("'()+_,-./:=? ", c) != nullptr && c != 0;
}

bool token_text(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        unsigned char u = static_cast<unsigned char>(c);
        if (u <= 32 || u >= 127 || std::strchr("()<>@,;:\\\"/[]?=", c)) return false;
    }
    return true;
}

class Parser {
public:
    Parser(std::string_view in, const Limits& lim) : in_(in), lim_(lim) {
        if (lim_.max_parts == 0) lim_.max_parts = 1;
    }

    Structure run() {
        entity(0, 0, no_parent, 0);
        for (const Part& p : s_.parts) s_.flags.bits |= p.flags.bits;
        return std::move(s_);
    }

private:
    std::string_view in_;
    Limits lim_;
    Structure s_;
    std::vector<std::string> stack_;   // boundaries of the enclosing multiparts
    std::string scratch_;              // decoded bytes to sniff, reused

    void flag(std::size_t idx, Flag f) {
        if (idx != no_parent) s_.parts[idx].flags.set(f);
    }

    Line line_at(std::size_t pos) const {
        const char* nl = static_cast<const char*>(std::memchr(in_.data() + pos, '\n', in_.size() - pos));
        if (!nl) return {pos, in_.size(), in_.size(), false};
        std::size_t e = static_cast<std::size_t>(nl - in_.data());
        bool cr = e > pos && in_[e - 1] == '\r';
        return {pos, cr ? e - 1 : e, e + 1, !cr};
    }

    // The stack level whose delimiter this line is (innermost first), or -1. *like: the line
    // starts with "--boundary" but goes on with other text, which RFC 2046 says is no
    // delimiter and some parsers take as one.
    int match(const Line& l, bool* close, bool* like) const {
        std::size_t len = l.end - l.begin;
        if (stack_.empty() || len < 2 || in_[l.begin] != '-' || in_[l.begin + 1] != '-') return -1;
        const char* p = in_.data() + l.begin + 2;
        std::size_t rest = len - 2;
        for (std::size_t i = stack_.size(); i-- > 0;) {
            const std::string& b = stack_[i];
            if (rest < b.size() || std::memcmp(p, b.data(), b.size()) != 0) continue;
            std::size_t k = b.size();
            bool c = false;
            if (rest - k >= 2 && p[k] == '-' && p[k + 1] == '-') {
                c = true;
                k += 2;
            }
            while (k < rest && (p[k] == ' ' || p[k] == '\t')) ++k;   // transport padding
            if (k == rest) {
                *close = c;
                return static_cast<int>(i);
            }
            *like = true;
        }
        return -1;
    }

    Delim delimiter(const Line& l, std::size_t region_begin, int level, bool close) const {
        std::size_t db = l.begin;
        if (db > region_begin && in_[db - 1] == '\n') {   // the line end before belongs to it
            --db;
            if (db > region_begin && in_[db - 1] == '\r') --db;
        }
        return {db, l.next, level, close};
    }

    // Reads lines from pos until a delimiter of an enclosing multipart or the end.
    Delim scan(std::size_t pos, std::size_t region_begin, std::size_t idx, Flag like_flag) {
        while (pos < in_.size()) {
            Line l = line_at(pos);
            if (l.bare_lf) flag(idx, Flag::BareLineEnd);
            bool close = false, like = false;
            int level = match(l, &close, &like);
            if (level >= 0) return delimiter(l, region_begin, level, close);
            if (like) flag(idx, like_flag);
            pos = l.next;
        }
        return {in_.size(), in_.size(), -1, false};
    }

    // The header block of parts[idx] from pos. Returns true with *early set if a delimiter
    // line ended it (the part then has no body).
    bool header(std::size_t idx, std::size_t pos, Fields& f, Delim* early) {
        const std::size_t begin = pos;
        std::size_t count = 0;
        bool recording = true;
        bool too_long = false;
        std::string_view* open = nullptr;   // the field being collected
        std::size_t open_value = 0;
        bool any_line = false;
        auto finish = [&](std::size_t header_end, std::size_t body_begin) {
            Part& p = s_.parts[idx];
            p.header_end = header_end;
            p.body_begin = body_begin;
        };
        while (pos < in_.size()) {
            Line l = line_at(pos);
            if (l.bare_lf) flag(idx, Flag::BareLineEnd);
            if (l.end == l.begin) {
                finish(pos, l.next);
                return false;
            }
            bool close = false, like = false;
            int level = match(l, &close, &like);
            if (level >= 0) {   // no blank line, no body
                if (any_line) flag(idx, Flag::HeaderSyntax);
                finish(pos, pos);
                *early = {pos, l.next, level, close};
                return true;
            }
            char c = in_[l.begin];
            if (c == ' ' || c == '\t') {
                if (!any_line) flag(idx, Flag::HeaderSyntax);   // continuation of nothing
                if (open) *open = in_.substr(open_value, l.next - open_value);
            } else if (std::size_t n = field_name_length(in_.substr(l.begin, l.end - l.begin)); n > 0) {
                open = nullptr;
                if (++count > lim_.max_headers && recording) {
                    flag(idx, Flag::TooManyHeaders);
                    recording = false;
                }
                if (recording) {
                    std::string_view name = in_.substr(l.begin, n);
                    std::string_view* slot = iequals(name, "content-type")                ? &f.content_type
                                             : iequals(name, "content-transfer-encoding") ? &f.encoding
                                             : iequals(name, "content-disposition")       ? &f.disposition
                                                                                          : nullptr;
                    if (slot && slot->data() != nullptr) {
                        flag(idx, Flag::DuplicateField);   // first one wins; some clients take the last
                    } else if (slot) {
                        open = slot;
                        open_value = l.begin + in_.substr(l.begin, l.end - l.begin).find(':') + 1;
                        *open = in_.substr(open_value, l.next - open_value);
                    }
                }
            } else {   // not a header line: the header ends here, without its blank line
                flag(idx, Flag::HeaderSyntax);
                finish(pos, pos);
                return false;
            }
            any_line = true;
            if (!too_long && l.next - begin > lim_.max_header_bytes) {
                flag(idx, Flag::HeaderTooLong);
                too_long = true;
                recording = false;
                if (open) *open = {};   // crosses the limit: not read at all
                open = nullptr;
            }
            pos = l.next;
        }
        finish(in_.size(), in_.size());
        return false;
    }

    ParsedField field(std::string_view raw, std::size_t idx) {
        bool cut = false;
        std::string v = unfold(raw, lim_.max_header_bytes, &cut);
        ParsedField pf = parse_field_value(v, lim_.max_params, lim_.max_param_bytes);
        if (pf.syntax_error || pf.bad_param) flag(idx, Flag::BadParameter);
        if (pf.unknown_charset) flag(idx, Flag::UnknownCharset);
        if (pf.name_cut) flag(idx, Flag::NameTooLong);
        return pf;
    }

    void interpret(std::size_t idx, const Fields& f, std::size_t parent) {
        Part& p = s_.parts[idx];
        bool digest = parent != no_parent && s_.parts[parent].content_type.type == "multipart" &&
                      s_.parts[parent].content_type.subtype == "digest";
        if (digest) {   // RFC 2046 §5.1.5
            p.content_type.type = "message";
            p.content_type.subtype = "rfc822";
        }
        if (f.content_type.data()) {
            ParsedField pf = field(f.content_type, idx);
            std::size_t slash = pf.value.find('/');
            std::string_view type = std::string_view(pf.value).substr(0, slash);
            std::string_view sub = slash == std::string::npos ? std::string_view{} : std::string_view(pf.value).substr(slash + 1);
            if (token_text(type) && token_text(sub)) {
                p.content_type.type = std::string(type);
                p.content_type.subtype = std::string(sub);
                p.content_type.declared = true;
                p.content_type.params = std::move(pf.params);
            } else {   // RFC 2045 §5.2: unreadable means text/plain
                flag(idx, Flag::BadContentType);
                p.content_type.type = "text";
                p.content_type.subtype = "plain";
            }
            p.name = std::string(p.content_type.param("name"));
        }
        if (f.encoding.data()) {
            ParsedField pf = field(f.encoding, idx);
            const std::string& e = pf.value;
            if (e == "7bit") p.encoding = Encoding::SevenBit;
            else if (e == "8bit") p.encoding = Encoding::EightBit;
            else if (e == "binary") p.encoding = Encoding::Binary;
            else if (e == "quoted-printable") p.encoding = Encoding::QuotedPrintable;
            else if (e == "base64") p.encoding = Encoding::Base64;
            else {
                p.encoding = Encoding::Unknown;
                flag(idx, Flag::UnknownEncoding);
            }
        }
        if (f.disposition.data()) {
            ParsedField pf = field(f.disposition, idx);
            p.disposition = pf.value;
            for (Param& prm : pf.params)
                if (prm.name == "filename") p.filename = std::move(prm.value);
        }
    }

    void leaf(std::size_t idx) {
        Part& p = s_.parts[idx];
        std::string_view body = in_.substr(p.body_begin, p.body_end - p.body_begin);
        scratch_.clear();
        DecodeStatus st = decode(body, p.encoding, [&](std::string_view c) { scratch_.append(c); return true; },
                                 lim_.sniff_bytes);
        p.sniffed = sniff(scratch_);
        if (!is_identity(p.encoding) && lim_.validate_encodings && st.truncated)
            st = decode(body, p.encoding, [](std::string_view) { return true; });
        if (st.bad) flag(idx, p.encoding == Encoding::Base64 ? Flag::BadBase64 : Flag::BadQuotedPrintable);
    }

    // A leaf body: up to the next delimiter of an enclosing multipart.
    Delim leaf_body(std::size_t idx) {
        Delim d = scan(s_.parts[idx].body_begin, s_.parts[idx].body_begin, idx, Flag::BoundaryLikeLine);
        s_.parts[idx].body_end = d.delim_begin;
        leaf(idx);
        return d;
    }

    Delim entity(std::size_t begin, std::size_t depth, std::size_t parent, std::size_t delimiter_begin) {
        if (s_.parts.size() >= lim_.max_parts) {   // not recorded: skipped to the next delimiter
            flag(parent, Flag::TooManyParts);
            return scan(begin, begin, parent, Flag::BoundaryLikeLine);
        }
        const std::size_t idx = s_.parts.size();
        s_.parts.emplace_back();
        {
            Part& p = s_.parts[idx];
            p.parent = parent;
            p.depth = depth;
            p.delimiter_begin = delimiter_begin;
            p.header_begin = begin;
        }
        if (parent != no_parent) ++s_.parts[parent].children;
        Fields f;
        Delim early;
        bool ended = header(idx, begin, f, &early);
        interpret(idx, f, parent);
        if (ended) {
            s_.parts[idx].body_end = s_.parts[idx].body_begin;
            leaf(idx);
            return early;
        }
        Part& p = s_.parts[idx];
        const std::string& type = p.content_type.type;
        const std::string& sub = p.content_type.subtype;
        bool multipart = type == "multipart";
        bool message = type == "message" && (sub == "rfc822" || sub == "global");
        if (!multipart && !message) return leaf_body(idx);
        std::string boundary(p.content_type.param("boundary"));
        if (multipart && boundary.empty()) {
            flag(idx, Flag::MissingBoundary);
            return leaf_body(idx);
        }
        if (!is_identity(p.encoding)) {   // RFC 2045 §6.4: composites are never encoded
            flag(idx, Flag::EncodedComposite);
            return leaf_body(idx);
        }
        if (depth >= lim_.max_depth) {
            flag(idx, Flag::TooDeep);
            return leaf_body(idx);
        }
        if (message) {
            Delim d = entity(p.body_begin, depth + 1, idx, p.body_begin);
            s_.parts[idx].body_end = d.delim_begin;
            return d;
        }
        if (boundary.size() > 70 || boundary.back() == ' ') flag(idx, Flag::BadBoundary);
        for (char c : boundary)
            if (!bchar(c)) {
                flag(idx, Flag::BadBoundary);
                break;
            }
        return multipart_body(idx, std::move(boundary));
    }

    Delim multipart_body(std::size_t idx, std::string boundary) {
        const std::size_t body_begin = s_.parts[idx].body_begin;
        const std::size_t depth = s_.parts[idx].depth;
        stack_.push_back(std::move(boundary));
        const int level = static_cast<int>(stack_.size()) - 1;
        Delim d = scan(body_begin, body_begin, idx, Flag::BoundaryInPreamble);
        while (d.level == level && d.close) {   // a close delimiter before any part
            flag(idx, Flag::BoundaryInPreamble);
            d = scan(d.next, d.next, idx, Flag::BoundaryInPreamble);
        }
        if (d.level != level) {   // no delimiter at all: the body is one opaque leaf
            stack_.pop_back();
            flag(idx, Flag::NoParts);
            s_.parts[idx].body_end = d.delim_begin;
            leaf(idx);
            return d;
        }
        for (;;) {
            Delim c = entity(d.next, depth + 1, idx, d.delim_begin);
            if (c.level == level && !c.close) {
                d = c;
                continue;
            }
            stack_.pop_back();
            if (c.level == level) {   // closed; the epilogue runs to the enclosing delimiter
                Delim e = scan(c.next, c.next, idx, Flag::BoundaryLikeLine);
                s_.parts[idx].body_end = e.delim_begin;
                if (s_.parts[idx].children == 0) leaf(idx);   // every child was over max_parts
                return e;
            }
            flag(idx, Flag::MissingCloseBoundary);
            s_.parts[idx].body_end = c.delim_begin;
            if (s_.parts[idx].children == 0) leaf(idx);   // every child was over max_parts
            return c;
        }
    }
};

}  // namespace

Structure parse(std::string_view message, const Limits& limits) {
    return Parser(message, limits).run();
}

}  // namespace rampart::mime
