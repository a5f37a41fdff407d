// config/edit.cpp — the listener editor (see the header). A small lexer finds the
// document's structure (table headers and key/value entries with their byte spans, outside
// strings and comments); the edit splices text at those spans; toml++ then checks that the
// result means exactly the old document with the key set.
#include "config/edit.hpp"

#include <optional>
#include <sstream>

#include <toml++/toml.h>

#include "config/toml_nesting.hpp"

namespace rampart::config {
namespace {

struct Entry {
    bool header = false;
    bool array = false;               // [[...]]
    std::vector<std::string> path;    // the header's table path, or the key's dotted path
    std::size_t line_begin = 0;       // where the entry's line starts
    std::size_t value_begin = 0, value_end = 0;   // key/value: the value's bytes
    std::size_t end = 0;              // just past the entry's line (its newline, if any)
};

// Scans a TOML document's top level. nullopt: something the lexer does not understand
// (the editor then refuses; the loader reports the real problem).
class Lexer {
public:
    explicit Lexer(std::string_view t) : t_(t) {}

    std::optional<std::vector<Entry>> entries() {
        std::vector<Entry> out;
        std::size_t p = 0;
        while (p < t_.size()) {
            std::size_t line_begin = p;
            p = skip_ws(p);
            if (p >= t_.size()) break;
            if (t_[p] == '\n' || (t_[p] == '\r' && p + 1 < t_.size() && t_[p + 1] == '\n')) {
                p = next_line(p);
                continue;
            }
            if (t_[p] == '#') {
                p = next_line(p);
                continue;
            }
            Entry e;
            e.line_begin = line_begin;
            if (t_[p] == '[') {
                e.header = true;
                e.array = p + 1 < t_.size() && t_[p + 1] == '[';
                p += e.array ? 2 : 1;
                auto k = key(p, e.path);
                if (!k) return std::nullopt;
                p = skip_ws(*k);
                if (e.array) {
                    if (t_.substr(p, 2) != "]]") return std::nullopt;
                    p += 2;
                } else {
                    if (p >= t_.size() || t_[p] != ']') return std::nullopt;
                    ++p;
                }
            } else {
                auto v = key_value(p, e);
                if (!v) return std::nullopt;
                p = *v;
            }
            p = skip_ws(p);
            if (p < t_.size() && t_[p] == '#') p = next_line(p);
            else if (p < t_.size()) {
                if (t_[p] != '\n' && !(t_[p] == '\r' && p + 1 < t_.size() && t_[p + 1] == '\n')) return std::nullopt;
                p = next_line(p);
            }
            e.end = p;
            out.push_back(std::move(e));
        }
        return out;
    }

    // `key = value` at `p` (a line of a table or an entry of an inline table): fills the
    // entry's path, value_begin and value_end; the offset just after the value.
    std::optional<std::size_t> key_value(std::size_t p, Entry& e) {
        auto k = key(p, e.path);
        if (!k) return std::nullopt;
        p = skip_ws(*k);
        if (p >= t_.size() || t_[p] != '=') return std::nullopt;
        p = skip_ws(p + 1);
        e.value_begin = p;
        auto v = value(p);
        if (!v) return std::nullopt;
        e.value_end = *v;
        return v;
    }

    // An inline table's entries ({ a = 1, b.c = 2 }), `p` at '{'. Fills `close` with the
    // offset of '}'.
    std::optional<std::vector<Entry>> inline_entries(std::size_t p, std::size_t& close) {
        std::vector<Entry> out;
        if (p >= t_.size() || t_[p] != '{') return std::nullopt;
        p = skip_ws(p + 1);
        if (p < t_.size() && t_[p] == '}') {
            close = p;
            return out;
        }
        for (;;) {
            Entry e;
            e.line_begin = p;
            auto v = key_value(p, e);
            if (!v) return std::nullopt;
            e.end = *v;
            out.push_back(std::move(e));
            p = skip_ws(*v);
            if (p >= t_.size()) return std::nullopt;
            if (t_[p] == '}') {
                close = p;
                return out;
            }
            if (t_[p] != ',') return std::nullopt;
            p = skip_ws(p + 1);
        }
    }

private:
    std::string_view t_;

    std::size_t skip_ws(std::size_t p) const {
        while (p < t_.size() && (t_[p] == ' ' || t_[p] == '\t')) ++p;
        return p;
    }
    std::size_t next_line(std::size_t p) const {
        std::size_t nl = t_.find('\n', p);
        return nl == std::string_view::npos ? t_.size() : nl + 1;
    }
    // Whitespace, newlines and comments (inside arrays).
    std::size_t skip_ws_nl(std::size_t p) const {
        for (;;) {
            p = skip_ws(p);
            if (p < t_.size() && (t_[p] == '\n' || t_[p] == '\r')) ++p;
            else if (p < t_.size() && t_[p] == '#') p = next_line(p);
            else return p;
        }
    }
    static bool bare(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    }

    // A dotted key; each part decoded (basic strings: the common escapes; anything else
    // is kept as written, and toml++'s check catches a mismatch).
    std::optional<std::size_t> key(std::size_t p, std::vector<std::string>& path) {
        for (;;) {
            p = skip_ws(p);
            if (p >= t_.size()) return std::nullopt;
            std::string part;
            if (t_[p] == '"' || t_[p] == '\'') {
                auto end = single_line_string(p);
                if (!end) return std::nullopt;
                auto decoded = decode_string(t_.substr(p, *end - p));
                if (!decoded) return std::nullopt;
                part = *decoded;
                p = *end;
            } else {
                std::size_t b = p;
                while (p < t_.size() && bare(t_[p])) ++p;
                if (p == b) return std::nullopt;
                part = std::string(t_.substr(b, p - b));
            }
            path.push_back(std::move(part));
            std::size_t q = skip_ws(p);
            if (q < t_.size() && t_[q] == '.') {
                p = q + 1;
                continue;
            }
            return p;
        }
    }

    std::optional<std::size_t> single_line_string(std::size_t p) const {
        char q = t_[p];
        for (std::size_t i = p + 1; i < t_.size(); ++i) {
            if (t_[i] == '\n') return std::nullopt;
            if (q == '"' && t_[i] == '\\') {
                ++i;
                continue;
            }
            if (t_[i] == q) return i + 1;
        }
        return std::nullopt;
    }

    std::optional<std::size_t> multi_line_string(std::size_t p) const {
        char q = t_[p];
        std::string_view delim = q == '"' ? "\"\"\"" : "'''";
        for (std::size_t i = p + 3; i < t_.size(); ++i) {
            if (q == '"' && t_[i] == '\\') {
                ++i;
                continue;
            }
            if (t_.substr(i, 3) == delim) {
                std::size_t end = i + 3;
                // Up to two quotes may sit right before the closing delimiter.
                while (end < t_.size() && t_[end] == q && end - i < 5) ++end;
                return end;
            }
        }
        return std::nullopt;
    }

    std::optional<std::size_t> value(std::size_t p) {
        if (++depth_ > kMaxTomlNesting) return std::nullopt;
        struct Leave {
            std::size_t& d;
            ~Leave() { --d; }
        } leave{depth_};
        if (p >= t_.size()) return std::nullopt;
        char c = t_[p];
        if (c == '"' || c == '\'') {
            if (t_.substr(p, 3) == std::string(3, c)) return multi_line_string(p);
            return single_line_string(p);
        }
        if (c == '[') {
            p = skip_ws_nl(p + 1);
            for (;;) {
                if (p >= t_.size()) return std::nullopt;
                if (t_[p] == ']') return p + 1;
                auto v = value(p);
                if (!v) return std::nullopt;
                p = skip_ws_nl(*v);
                if (p < t_.size() && t_[p] == ',') p = skip_ws_nl(p + 1);
                else if (p >= t_.size() || t_[p] != ']') return std::nullopt;
            }
        }
        if (c == '{') {
            std::size_t close = 0;
            if (!inline_entries(p, close)) return std::nullopt;
            return close + 1;
        }
        std::size_t b = p;
        while (p < t_.size() && t_[p] != ' ' && t_[p] != '\t' && t_[p] != '\n' && t_[p] != '\r' && t_[p] != ',' &&
               t_[p] != ']' && t_[p] != '}' && t_[p] != '#')
            ++p;
        // A date-time may hold one space: 1979-05-27 07:32:00Z.
        if (p < t_.size() && t_[p] == ' ' && p - b == 10 && t_[b + 4] == '-' && p + 1 < t_.size() && t_[p + 1] >= '0' &&
            t_[p + 1] <= '9') {
            ++p;
            while (p < t_.size() && t_[p] != ' ' && t_[p] != '\t' && t_[p] != '\n' && t_[p] != '\r' && t_[p] != ',' &&
                   t_[p] != ']' && t_[p] != '}' && t_[p] != '#')
                ++p;
        }
        if (p == b) return std::nullopt;
        return p;
    }

public:
    // A quoted single-line string's contents ('...' as is; "..." with the simple escapes).
    static std::optional<std::string> decode_string(std::string_view s) {
        if (s.size() < 2) return std::nullopt;
        if (s.front() == '\'') return std::string(s.substr(1, s.size() - 2));
        std::string out;
        for (std::size_t i = 1; i + 1 < s.size(); ++i) {
            if (s[i] != '\\') {
                out += s[i];
                continue;
            }
            if (++i + 1 >= s.size()) return std::nullopt;
            switch (s[i]) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case 'n': out += '\n'; break;
                case 't': out += '\t'; break;
                case 'r': out += '\r'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                default: return std::nullopt;   // \u escapes: not decoded here
            }
        }
        return out;
    }

private:
    std::size_t depth_ = 0;
};

// The lines of one [[listeners]] element: its header, the entries up to the first
// sub-table header (`body`), and its sub-tables ([listeners.auth], ...).
struct Element {
    std::size_t header = 0;   // index in entries
    std::size_t body_end = 0; // first index after the body
    std::size_t end = 0;      // first index after the element (sub-tables included)
    std::optional<std::string> name;
    std::size_t name_index = 0;
};

std::vector<Element> elements(const std::vector<Entry>& es, std::string_view text) {
    std::vector<Element> out;
    for (std::size_t i = 0; i < es.size(); ++i) {
        if (!es[i].header || !es[i].array || es[i].path != std::vector<std::string>{"listeners"}) continue;
        Element el;
        el.header = i;
        std::size_t j = i + 1;
        while (j < es.size() && !es[j].header) {
            if (es[j].path == std::vector<std::string>{"name"}) {
                el.name = Lexer::decode_string(text.substr(es[j].value_begin, es[j].value_end - es[j].value_begin));
                el.name_index = j;
            }
            ++j;
        }
        el.body_end = j;
        while (j < es.size() && es[j].header && es[j].path.size() > 1 && es[j].path[0] == "listeners") {
            ++j;
            while (j < es.size() && !es[j].header) ++j;
        }
        el.end = j;
        out.push_back(std::move(el));
    }
    return out;
}

std::string indentation(std::string_view text, const Entry& e) {
    std::size_t p = e.line_begin;
    while (p < text.size() && (text[p] == ' ' || text[p] == '\t')) ++p;
    return std::string(text.substr(e.line_begin, p - e.line_begin));
}

// Inserts a line at `at` (a line start, or the end of the text), ended as the file's
// lines are (CRLF if the file uses it).
std::string insert_line(std::string_view text, std::size_t at, const std::string& line) {
    const char* eol = text.find("\r\n") != std::string_view::npos ? "\r\n" : "\n";
    std::string out(text.substr(0, at));
    if (!out.empty() && out.back() != '\n') out += eol;
    out += line + eol;
    out += text.substr(at);
    return out;
}

std::string splice(std::string_view text, std::size_t b, std::size_t e, std::string_view with) {
    std::string out(text.substr(0, b));
    out += with;
    out += text.substr(e);
    return out;
}

Error cannot(std::string why) { return Error{0, std::move(why)}; }

// A key as the file should spell it: bare if it can be.
std::string key_text(std::string_view k) {
    bool is_bare = !k.empty();
    for (char c : k)
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) is_bare = false;
    return is_bare ? std::string(k) : toml_string(k);
}

Result<std::string> apply_one(std::string_view text, std::string_view listener, const ListenerEdit& ed) {
    Lexer lex(text);
    auto es = lex.entries();
    if (!es) return cannot("the configuration file has a construct the console's editor does not follow; edit it by hand");
    std::vector<Element> els = elements(*es, text);
    const Element* el = nullptr;
    for (const Element& e : els)
        if (e.name && *e.name == listener) {
            if (el) return cannot("two [[listeners]] tables are named \"" + std::string(listener) + "\"");
            el = &e;
        }
    if (!el) return cannot("no [[listeners]] table named \"" + std::string(listener) + "\" in the file");
    const Entry& name = (*es)[el->name_index];
    std::string indent = indentation(text, name);
    const std::vector<Entry>& E = *es;
    if (ed.table.empty()) {
        for (std::size_t i = el->header + 1; i < el->body_end; ++i)
            if (E[i].path == std::vector<std::string>{ed.key}) return splice(text, E[i].value_begin, E[i].value_end, ed.value);
        return insert_line(text, name.end, indent + key_text(ed.key) + " = " + ed.value);
    }
    // 1. a dotted key in the body; 2. an inline table in the body; 3. a sub-table.
    std::size_t last_dotted = 0;
    for (std::size_t i = el->header + 1; i < el->body_end; ++i) {
        const Entry& e = E[i];
        if (e.path == std::vector<std::string>{ed.table, ed.key}) return splice(text, e.value_begin, e.value_end, ed.value);
        if (e.path.size() > 1 && e.path[0] == ed.table) last_dotted = i;
        if (e.path == std::vector<std::string>{ed.table}) {
            std::size_t close = 0;
            auto inner = lex.inline_entries(e.value_begin, close);
            if (!inner) return cannot("listener \"" + std::string(listener) + "\": " + ed.table + " is not an inline table; edit it by hand");
            for (const Entry& ie : *inner)
                if (ie.path == std::vector<std::string>{ed.key}) return splice(text, ie.value_begin, ie.value_end, ed.value);
            std::string add = key_text(ed.key) + " = " + ed.value;
            if (inner->empty()) return splice(text, e.value_begin, close + 1, "{ " + add + " }");
            // After the last entry, so the order reads as the person wrote it.
            return splice(text, inner->back().value_end, inner->back().value_end, ", " + add);
        }
    }
    for (std::size_t i = el->body_end; i < el->end; ++i) {
        if (!E[i].header || E[i].path != std::vector<std::string>{"listeners", ed.table}) continue;
        if (E[i].array) return cannot("listener \"" + std::string(listener) + "\": [[listeners." + ed.table + "]] is not a table");
        std::size_t j = i + 1, last = i;
        for (; j < el->end && !E[j].header; ++j) {
            if (E[j].path == std::vector<std::string>{ed.key}) return splice(text, E[j].value_begin, E[j].value_end, ed.value);
            last = j;
        }
        std::string ind = last == i ? std::string() : indentation(text, E[last]);
        return insert_line(text, E[last].end, ind + key_text(ed.key) + " = " + ed.value);
    }
    const Entry& after = last_dotted ? E[last_dotted] : name;
    return insert_line(text, after.end, indent + key_text(ed.table) + "." + key_text(ed.key) + " = " + ed.value);
}

// The listener table `listener` in a parsed document, or nullptr.
toml::table* find_listener(toml::table& doc, std::string_view listener) {
    toml::array* ls = doc["listeners"].as_array();
    if (!ls) return nullptr;
    for (toml::node& n : *ls)
        if (toml::table* t = n.as_table(); t && (*t)["name"].value<std::string>() == std::string(listener)) return t;
    return nullptr;
}

std::optional<toml::table> parse(std::string_view text) {
    if (find_excessive_nesting(text)) return std::nullopt;
    try {
        return toml::parse(text);
    } catch (const toml::parse_error&) {
        return std::nullopt;
    }
}

}  // namespace

std::string toml_string(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            case '\r': out += "\\r"; break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    static const char* hex = "0123456789ABCDEF";
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 15];
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out + "\"";
}

std::string toml_array(const std::vector<std::string>& items) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + toml_string(items[i]);
    return out + "]";
}

Result<std::string> edit_listener(std::string_view text, std::string_view listener, const std::vector<ListenerEdit>& edits,
                                  const std::vector<std::string>& default_names) {
    std::optional<toml::table> before = parse(text);
    if (!before) return cannot("the configuration file is not valid TOML now; fix it by hand first");
    toml::table expected = *before;
    std::string out(text);
    if (!expected.contains("listeners")) {
        bool known = false;
        for (const std::string& n : default_names) known = known || n == listener;
        if (!known) return cannot("no listener named \"" + std::string(listener) + "\"");
        if (!out.empty() && out.back() != '\n') out += '\n';
        out += "\n# The role's default listeners, written out by the web console when one of them was changed\n"
               "# (without [[listeners]] the role's defaults run; a listener left out here would stop).\n";
        toml::array ls;
        for (std::size_t i = 0; i < default_names.size(); ++i) {
            out += (i ? "\n" : "") + std::string("[[listeners]]\nname = ") + toml_string(default_names[i]) + "\n";
            ls.push_back(toml::table{{"name", default_names[i]}});
        }
        expected.insert("listeners", std::move(ls));
    } else if (!expected["listeners"].is_array_of_tables()) {
        return cannot("`listeners` is not an array of tables; edit it by hand");
    }
    toml::table* target = find_listener(expected, listener);
    if (!target) return cannot("no [[listeners]] table named \"" + std::string(listener) + "\" in the file");
    for (const ListenerEdit& ed : edits) {
        auto value = parse("v = " + ed.value);
        if (!value || value->size() != 1 || !value->contains("v")) return cannot("\"" + ed.value + "\" is not a TOML value");
        toml::table* t = target;
        if (!ed.table.empty()) {
            if (!target->contains(ed.table)) target->insert(ed.table, toml::table{});
            t = (*target)[ed.table].as_table();
            if (!t) return cannot("listener \"" + std::string(listener) + "\": " + ed.table + " is not a table");
        }
        t->insert_or_assign(ed.key, *value->get("v"));
        auto next = apply_one(out, listener, ed);
        if (!next) return next;
        out = std::move(*next);
    }
    std::optional<toml::table> after = parse(out);
    if (!after || *after != expected)
        return cannot("the console's editor could not make this change safely in this file; edit it by hand");
    return out;
}

}  // namespace rampart::config
