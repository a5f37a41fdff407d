// config/toml_nesting.cpp — the nesting scan (see the header): a small lexer that knows
// TOML's comments and four string forms, and counts levels outside them.
#include "config/toml_nesting.hpp"

#include <vector>

namespace rampart::config {

std::optional<TooDeep> find_excessive_nesting(std::string_view text, std::size_t limit) {
    struct Open {
        char kind;               // '[' array or '{' inline table
        std::size_t depth;       // depth of the container it was opened in
        std::size_t key_dots;    // dotted-key segments leading to it there
    };
    std::vector<Open> open;      // never deeper than `limit`: we stop first
    std::size_t depth = 0;       // levels of the current container (header or open bracket)
    std::size_t key_dots = 0;    // '.' in the key being read
    bool in_key = true;          // reading a key (start of a line, after '{' or ',' in one)
    int line = 1;
    const std::size_t n = text.size();
    auto deeper_than_limit = [&](std::size_t d) { return d > limit; };
    for (std::size_t i = 0; i < n; ++i) {
        char c = text[i];
        if (c == '\n') {
            ++line;
            if (open.empty()) {      // a new statement (arrays may span lines; keys may not)
                in_key = true;
                key_dots = 0;
            }
            continue;
        }
        if (c == '#') {              // comment to the end of the line
            while (i + 1 < n && text[i + 1] != '\n') ++i;
            continue;
        }
        if (c == '"' || c == '\'') { // strings: skip, counting lines in multi-line ones
            bool multi = text.substr(i, 3) == std::string_view(c == '"' ? "\"\"\"" : "'''");
            bool escapes = c == '"';
            i += multi ? 3 : 1;
            for (; i < n; ++i) {
                if (text[i] == '\n') {
                    if (!multi) break;   // unterminated: the parser will say so
                    ++line;
                } else if (escapes && text[i] == '\\') {
                    if (i + 1 < n && text[i + 1] == '\n') ++line;
                    ++i;
                } else if (text[i] == c && (!multi || text.substr(i, 3) == std::string_view(c == '"' ? "\"\"\"" : "'''"))) {
                    if (multi) {
                        i += 2;
                        while (i + 1 < n && text[i + 1] == c) ++i;   // """a"""" ends with a quote inside
                    }
                    break;
                }
            }
            if (i < n && text[i] == '\n') --i;   // let the newline be seen above
            continue;
        }
        if (c == '[' && open.empty() && in_key && key_dots == 0) {
            // Table header [a.b.c] or array of tables [[a.b.c]]: its segments are the depth
            // of every key below it.
            bool array = i + 1 < n && text[i + 1] == '[';
            std::size_t segments = 1 + (array ? 1 : 0);
            i += array ? 2 : 1;
            for (; i < n && text[i] != ']' && text[i] != '\n'; ++i) {
                if (text[i] == '.' && deeper_than_limit(++segments)) return TooDeep{line, limit};
                if (text[i] == '"' || text[i] == '\'') {   // quoted key segment
                    char q = text[i];
                    for (++i; i < n && text[i] != q && text[i] != '\n'; ++i)
                        if (q == '"' && text[i] == '\\') ++i;
                    if (i >= n || text[i] == '\n') break;
                }
            }
            if (deeper_than_limit(segments)) return TooDeep{line, limit};
            if (i < n && text[i] == '\n') --i;
            else if (array && i + 1 < n && text[i + 1] == ']') ++i;
            depth = segments;
            key_dots = 0;
            in_key = false;          // only a comment or the line end may follow
            continue;
        }
        if (c == '.' && in_key) {
            if (deeper_than_limit(depth + ++key_dots + 1)) return TooDeep{line, limit};
            continue;
        }
        if (c == '=') {
            in_key = false;
            continue;
        }
        if (c == '[' || c == '{') {
            std::size_t inside = depth + key_dots + 1;
            if (deeper_than_limit(inside)) return TooDeep{line, limit};
            open.push_back({c, depth, key_dots});
            depth = inside;
            key_dots = 0;
            in_key = c == '{';
            continue;
        }
        if (c == ']' || c == '}') {
            if (!open.empty()) {
                depth = open.back().depth;
                key_dots = open.back().key_dots;
                open.pop_back();
            }
            in_key = false;
            continue;
        }
        if (c == ',' && !open.empty()) {
            key_dots = 0;
            in_key = open.back().kind == '{';
            continue;
        }
    }
    return std::nullopt;
}

std::string too_deep_problem(const TooDeep& t) {
    return "nested more than " + std::to_string(t.limit) +
           " levels deep (table headers, dotted keys, arrays and inline tables together); not read further";
}

std::string_view too_deep_fix() { return "rampart's files nest a few levels at most: flatten this structure"; }

}  // namespace rampart::config
