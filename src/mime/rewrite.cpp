// mime/rewrite.cpp — splicing edits into the spooled bytes (see header).
#include "mime/rewrite.hpp"

#include <algorithm>
#include <vector>

#include "mime/header.hpp"

namespace rampart::mime {

namespace {

struct Splice {
    std::size_t begin, end;
    std::string with;
};

Error refuse(std::string what) { return Error{0, "rewrite: " + std::move(what)}; }

bool field_name_ok(std::string_view n) {
    if (n.empty()) return false;
    for (char c : n) {
        unsigned char u = static_cast<unsigned char>(c);
        if (u <= 32 || u >= 127 || c == ':') return false;
    }
    return true;
}

// Every line end is CRLF and no line starts with an enclosing delimiter.
std::string check_entity(std::string_view e, const std::vector<std::string_view>& boundaries) {
    for (std::size_t i = 0; i < e.size(); ++i) {
        if (e[i] == '\r' && (i + 1 >= e.size() || e[i + 1] != '\n')) return "bare CR in replacement";
        if (e[i] == '\n' && (i == 0 || e[i - 1] != '\r')) return "bare LF in replacement";
    }
    for (std::size_t pos = 0; pos < e.size();) {
        std::size_t nl = e.find('\n', pos);
        std::string_view line = e.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        if (line.substr(0, 2) == "--")
            for (std::string_view b : boundaries)
                if (line.substr(2, b.size()) == b) return "replacement contains an enclosing boundary";
        if (nl == std::string_view::npos) break;
        pos = nl + 1;
    }
    return {};
}

}  // namespace

std::string text_part(std::string_view text) {
    std::string body;
    bool ascii = true;
    std::size_t line = 0, longest = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (static_cast<unsigned char>(c) >= 0x80 || (c < 0x20 && c != '\t' && c != '\n' && c != '\r')) ascii = false;
        if (c == '\r') continue;
        if (c == '\n') {
            body += "\r\n";
            line = 0;
            continue;
        }
        body += c;
        longest = std::max(longest, ++line);
    }
    if (ascii && longest <= 998)
        return "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" + body;
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string b64;
    for (std::size_t i = 0; i < body.size(); i += 3) {
        std::uint32_t v = static_cast<unsigned char>(body[i]) << 16;
        if (i + 1 < body.size()) v |= static_cast<unsigned char>(body[i + 1]) << 8;
        if (i + 2 < body.size()) v |= static_cast<unsigned char>(body[i + 2]);
        b64 += alphabet[(v >> 18) & 63];
        b64 += alphabet[(v >> 12) & 63];
        b64 += i + 1 < body.size() ? alphabet[(v >> 6) & 63] : '=';
        b64 += i + 2 < body.size() ? alphabet[v & 63] : '=';
        if (b64.size() % 78 == 76) b64 += "\r\n";
    }
    if (b64.size() < 2 || b64.substr(b64.size() - 2) != "\r\n") b64 += "\r\n";
    return "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64;
}

Result<std::string> rewrite(std::string_view in, const Structure& s, std::span<const Edit> edits) {
    if (s.parts.empty()) return refuse("empty structure");
    const Part& root = s.parts[0];
    std::vector<Splice> splices;
    std::vector<std::size_t> removed(s.parts.size(), 0);   // removals per parent
    std::string appended;                                  // AddHeader after the last field
    for (const Edit& e : edits) {
        switch (e.kind) {
        case Edit::Kind::ReplacePart:
        case Edit::Kind::RemovePart: {
            if (e.part == 0 || e.part >= s.parts.size()) return refuse("no part " + std::to_string(e.part) + " to edit");
            const Part& p = s.parts[e.part];
            const Part& parent = s.parts[p.parent];
            if (e.kind == Edit::Kind::RemovePart) {
                if (!parent.is_multipart() || parent.is_leaf())
                    return refuse("part " + std::to_string(e.part) + " is not in a multipart; replace it instead");
                if (++removed[p.parent] >= parent.children)
                    return refuse("removing every part of multipart " + std::to_string(p.parent));
                splices.push_back({p.delimiter_begin, p.body_end, {}});
                break;
            }
            std::vector<std::string_view> boundaries;
            for (std::size_t a = p.parent; a != no_parent; a = s.parts[a].parent)
                if (s.parts[a].is_multipart() && !s.parts[a].is_leaf()) boundaries.push_back(s.parts[a].content_type.param("boundary"));
            if (std::string why = check_entity(e.entity, boundaries); !why.empty())
                return refuse(why + " (part " + std::to_string(e.part) + ")");
            splices.push_back({p.header_begin, p.body_end, e.entity});
            break;
        }
        case Edit::Kind::AddHeader: {
            if (!field_name_ok(e.name)) return refuse("bad header field name '" + e.name + "'");
            if (e.value.find_first_of("\r\n") != std::string::npos) return refuse("CR or LF in the value of " + e.name);
            std::string line = e.name + ": " + e.value + "\r\n";
            if (e.prepend) splices.push_back({root.header_begin, root.header_begin, line});
            else appended += line;
            break;
        }
        case Edit::Kind::RemoveHeader: {
            if (iequals(e.name.substr(0, 8), "content-") || iequals(e.name, "mime-version"))
                return refuse("removing " + e.name + " would change the MIME structure");
            std::string_view block = in.substr(root.header_begin, root.header_end - root.header_begin);
            for (const HeaderField& f : header_fields(block, static_cast<std::size_t>(-1)))
                if (iequals(f.name, e.name)) splices.push_back({root.header_begin + f.begin, root.header_begin + f.end, {}});
            break;
        }
        }
    }
    if (!appended.empty()) {
        std::size_t at = root.header_end;
        if (at > root.header_begin && in[at - 1] != '\n') appended.insert(0, "\r\n");   // last field had no line end
        if (root.body_begin == root.header_end && root.body_begin < root.body_end) appended += "\r\n";   // no blank line
        splices.push_back({at, at, std::move(appended)});
    }
    std::stable_sort(splices.begin(), splices.end(), [](const Splice& a, const Splice& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    for (std::size_t i = 1; i < splices.size(); ++i)
        if (splices[i - 1].end > splices[i].begin) return refuse("overlapping edits");
    std::string out;
    out.reserve(in.size());
    std::size_t pos = 0;
    for (const Splice& sp : splices) {
        out.append(in.substr(pos, sp.begin - pos));
        out += sp.with;
        pos = sp.end;
    }
    out.append(in.substr(pos));
    return out;
}

}  // namespace rampart::mime
