// mime/header.cpp — header fields and MIME parameters (see header).
#include "mime/header.hpp"

#include <algorithm>
#include <cstring>

#include "mime/encoded_word.hpp"
#include "util/text.hpp"

namespace rampart::mime {

std::size_t field_name_length(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size()) {
        unsigned char c = static_cast<unsigned char>(line[i]);
        if (c == ':' || c <= 32 || c >= 127) break;
        ++i;
    }
    if (i == 0) return 0;
    std::size_t j = i;
    while (j < line.size() && (line[j] == ' ' || line[j] == '\t')) ++j;   // obs-optional (RFC 5322 §4.5)
    return j < line.size() && line[j] == ':' ? i : 0;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

std::vector<HeaderField> header_fields(std::string_view block, std::size_t max_fields) {
    std::vector<HeaderField> out;
    std::size_t pos = 0;
    std::size_t value_begin = 0;
    bool in_field = false;
    while (pos < block.size()) {
        const char* nl = static_cast<const char*>(std::memchr(block.data() + pos, '\n', block.size() - pos));
        std::size_t next = nl ? static_cast<std::size_t>(nl - block.data()) + 1 : block.size();
        std::string_view line = block.substr(pos, next - pos);
        if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
            if (in_field) {
                out.back().end = next;
                out.back().raw_value = block.substr(value_begin, next - value_begin);
            }
        } else if (std::size_t n = field_name_length(line); n > 0) {
            if (out.size() >= max_fields) break;
            value_begin = pos + line.find(':') + 1;
            out.push_back({line.substr(0, n), block.substr(value_begin, next - value_begin), pos, next});
            in_field = true;
        } else {
            in_field = false;
        }
        pos = next;
    }
    return out;
}

std::string unfold(std::string_view raw, std::size_t cap, bool* truncated) {
    std::string out;
    out.reserve(std::min(raw.size(), cap));
    for (char c : raw) {
        if (c == '\r' || c == '\n') continue;
        if (out.size() >= cap) {
            if (truncated) *truncated = true;
            break;
        }
        out += c;
    }
    std::size_t b = out.find_first_not_of(" \t");
    if (b == std::string::npos) return {};
    std::size_t e = out.find_last_not_of(" \t");
    return out.substr(b, e - b + 1);
}

namespace {

// RFC 2045 tspecials plus space and controls end a token.
bool token_char(char c) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 32 || u == 127) return false;
    return std::strchr("()<>@,;:\\\"/[]?=", c) == nullptr;
}

class Lexer {
public:
    explicit Lexer(std::string_view s) : s_(s) {}
    bool done() const { return i_ >= s_.size(); }
    char peek() const { return s_[i_]; }
    void skip() { ++i_; }
    std::size_t pos() const { return i_; }

    // Whitespace and (nested) comments; an unterminated comment runs to the end.
    void cfws(bool* bad) {
        while (i_ < s_.size()) {
            char c = s_[i_];
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                ++i_;
            } else if (c == '(') {
                int depth = 0;
                while (i_ < s_.size()) {
                    char d = s_[i_++];
                    if (d == '\\' && i_ < s_.size()) ++i_;
                    else if (d == '(') ++depth;
                    else if (d == ')' && --depth == 0) break;
                }
                if (depth != 0) *bad = true;
            } else {
                break;
            }
        }
    }
    std::string_view token() {
        std::size_t b = i_;
        while (i_ < s_.size() && token_char(s_[i_])) ++i_;
        return s_.substr(b, i_ - b);
    }
    // A quoted string without its quotes and escapes; at most cap bytes kept.
    std::string quoted(std::size_t cap, bool* bad) {
        std::string out;
        ++i_;   // opening quote
        while (i_ < s_.size() && s_[i_] != '"') {
            char c = s_[i_++];
            if (c == '\\' && i_ < s_.size()) c = s_[i_++];
            if (c == '\r' || c == '\n') continue;
            if (out.size() < cap) out += c;
        }
        if (i_ >= s_.size()) *bad = true;   // unterminated: the rest is the value
        else ++i_;
        return out;
    }
    // An unquoted value: up to ';' (lenient: mailers send unquoted names with spaces).
    std::string bare(std::size_t cap) {
        std::size_t b = i_;
        while (i_ < s_.size() && s_[i_] != ';') ++i_;
        std::string_view v = s_.substr(b, i_ - b);
        std::size_t e = v.find_last_not_of(" \t\r\n");
        v = e == std::string_view::npos ? std::string_view{} : v.substr(0, e + 1);
        // A trailing " (comment)" is a comment (RFC 2045 §5.1), not part of the value.
        if (!v.empty() && v.back() == ')') {
            if (std::size_t open = v.rfind(" ("); open != std::string_view::npos) {
                std::size_t k = v.find_last_not_of(" \t", open);
                v = k == std::string_view::npos ? std::string_view{} : v.substr(0, k + 1);
            }
        }
        return std::string(v.substr(0, cap));
    }
    void skip_to_semicolon() {
        while (i_ < s_.size() && s_[i_] != ';') {
            if (s_[i_] == '"') {
                bool ignored = false;
                quoted(0, &ignored);
            } else {
                ++i_;
            }
        }
    }

private:
    std::string_view s_;
    std::size_t i_ = 0;
};

struct RawParam {
    std::string name;      // base name, lower-cased
    int section = -1;      // RFC 2231 continuation number, -1 for none
    bool extended = false; // "*": charset'language'%XX
    bool cut = false;      // the value as read reached the read cap
    std::string value;
};

constexpr int max_section = 999;

// name, name*, name*N, name*N*
RawParam split_name(std::string_view attr, bool* bad) {
    RawParam p;
    std::string n = util::ascii_lower(attr);
    if (!n.empty() && n.back() == '*') {
        p.extended = true;
        n.pop_back();
    }
    if (auto star = n.find('*'); star != std::string::npos) {
        std::string_view digits = std::string_view(n).substr(star + 1);
        int v = 0;
        bool ok = !digits.empty() && digits.size() <= 3 && (digits.size() == 1 || digits[0] != '0');
        for (char c : digits) {
            if (c < '0' || c > '9') ok = false;
            else v = v * 10 + (c - '0');
        }
        if (ok && v <= max_section) p.section = v;
        else *bad = true;
        n.resize(star);
    }
    p.name = std::move(n);
    return p;
}

bool wants_words(std::string_view name) { return name == "name" || name == "filename"; }

// Plain (non-RFC 2231) value: encoded words in file names, raw UTF-8 kept (RFC 6532),
// other 8-bit bytes kept raw and reported.
std::string plain_value(const std::string& name, const std::string& raw, std::size_t cap, ParsedField& out) {
    if (!wants_words(name)) return raw.substr(0, std::min(raw.size(), cap));
    DecodedText t = decode_encoded_words(raw, cap, valid_utf8(raw) ? "utf-8" : "x-unknown-8bit");
    if (t.malformed) out.bad_param = true;
    if (t.unknown_charset) out.unknown_charset = true;
    return std::move(t.utf8);
}

void assemble(std::vector<RawParam>& raw, std::size_t max_params, std::size_t cap, ParsedField& out) {
    // Stable by name then section, so the first of duplicates wins.
    std::stable_sort(raw.begin(), raw.end(), [](const RawParam& a, const RawParam& b) {
        return a.name != b.name ? a.name < b.name : a.section < b.section;
    });
    for (std::size_t i = 0; i < raw.size();) {
        std::size_t j = i;
        while (j < raw.size() && raw[j].name == raw[i].name) ++j;
        // [i, j): one name. Plain "name" is the fallback; RFC 2231 forms win (RFC 2231 §4.1).
        const RawParam* plain = nullptr;
        const RawParam* whole_ext = nullptr;   // name*
        std::vector<const RawParam*> sections;
        for (std::size_t k = i; k < j; ++k) {
            const RawParam& p = raw[k];
            if (p.section < 0 && !p.extended) {
                if (plain) out.bad_param = true;
                else plain = &p;
            } else if (p.section < 0) {
                if (whole_ext) out.bad_param = true;
                else whole_ext = &p;
            } else {
                if (!sections.empty() && sections.back()->section == p.section) out.bad_param = true;
                else sections.push_back(&p);
            }
        }
        if (out.params.size() >= max_params) {
            out.bad_param = true;
            break;
        }
        struct {
            std::string name;
            std::string value;
            bool cut = false;
        } result{raw[i].name, {}};
        if (!sections.empty() || whole_ext) {
            if (whole_ext && !sections.empty()) out.bad_param = true;
            if (!whole_ext) {
                for (std::size_t k = 0; k < sections.size(); ++k)
                    if (sections[k]->section != static_cast<int>(k)) out.bad_param = true;   // gap
            }
            std::vector<const RawParam*> parts = whole_ext ? std::vector<const RawParam*>{whole_ext} : sections;
            std::string charset;
            std::string bytes;
            bool bad = false;
            for (std::size_t k = 0; k < parts.size(); ++k) {
                if (parts[k]->cut) result.cut = true;
                std::string_view v = parts[k]->value;
                if (parts[k]->extended && k == 0) {   // charset'language'value
                    std::size_t q1 = v.find('\'');
                    std::size_t q2 = q1 == std::string_view::npos ? q1 : v.find('\'', q1 + 1);
                    if (q2 == std::string_view::npos) bad = true;
                    else {
                        charset = std::string(v.substr(0, q1));
                        v = v.substr(q2 + 1);
                    }
                }
                if (parts[k]->extended) bytes += percent_decode(v, &bad);
                else bytes += v;
                if (bytes.size() > cap * 4) {   // enough for cap UTF-8 bytes
                    result.cut = true;
                    break;
                }
            }
            if (bad) out.bad_param = true;
            DecodedText t;
            append_charset(charset.empty() ? "us-ascii" : charset, bytes, cap, &t);
            if (t.unknown_charset) out.unknown_charset = true;
            result.value = std::move(t.utf8);
        } else if (plain) {
            result.cut = plain->cut || plain->value.size() > cap;
            result.value = plain_value(plain->name, plain->value, cap, out);
        }
        // A decoded value that filled the cap was cut (or is as long, which no file name is).
        if (result.value.size() >= cap) result.cut = true;
        if (result.cut && wants_words(result.name)) out.name_cut = true;
        out.params.push_back(Param{std::move(result.name), std::move(result.value)});
        i = j;
    }
}

}  // namespace

ParsedField parse_field_value(std::string_view s, std::size_t max_params, std::size_t max_param_bytes) {
    ParsedField out;
    Lexer lx(s);
    // The leading value: tokens and '/', comments and spaces dropped.
    lx.cfws(&out.syntax_error);
    while (!lx.done() && lx.peek() != ';') {
        std::string_view t = lx.token();
        if (!t.empty()) {
            out.value += util::ascii_lower(t);
        } else if (lx.peek() == '/') {
            out.value += '/';
            lx.skip();
        } else if (lx.peek() == '(' || lx.peek() == ' ' || lx.peek() == '\t') {
            lx.cfws(&out.syntax_error);
        } else {
            out.syntax_error = true;
            lx.skip_to_semicolon();
        }
        if (out.value.size() > max_param_bytes) {
            out.syntax_error = true;
            out.value.resize(max_param_bytes);
            lx.skip_to_semicolon();
        }
    }
    std::vector<RawParam> raw;
    const std::size_t max_raw = max_params * 4;   // room for continuations
    while (!lx.done()) {
        lx.skip();   // ';'
        lx.cfws(&out.syntax_error);
        if (lx.done()) break;   // trailing ';' is common and harmless
        if (lx.peek() == ';') continue;
        std::string_view attr = lx.token();
        lx.cfws(&out.syntax_error);
        if (attr.empty() || lx.done() || lx.peek() != '=') {
            out.syntax_error = true;
            lx.skip_to_semicolon();
            continue;
        }
        lx.skip();   // '='
        lx.cfws(&out.syntax_error);
        // Values are read up to 4× the cap: RFC 2231 percent-encoding triples the size.
        std::size_t read_cap = max_param_bytes * 4;
        std::string value;
        if (!lx.done() && lx.peek() == '"') {
            value = lx.quoted(read_cap, &out.syntax_error);
            lx.cfws(&out.syntax_error);
            if (!lx.done() && lx.peek() != ';') {
                out.syntax_error = true;
                lx.skip_to_semicolon();
            }
        } else {
            value = lx.bare(read_cap);
        }
        if (raw.size() >= max_raw) {
            out.bad_param = true;
            continue;
        }
        RawParam p = split_name(attr, &out.bad_param);
        p.cut = value.size() >= read_cap;
        p.value = std::move(value);
        raw.push_back(std::move(p));
    }
    assemble(raw, max_params, max_param_bytes, out);
    return out;
}

}  // namespace rampart::mime
