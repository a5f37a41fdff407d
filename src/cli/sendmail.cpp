// cli/sendmail.cpp — sendmail(8) options and message preparation (pure).
#include "cli/sendmail.hpp"

#include <algorithm>
#include <cctype>

namespace rampart::cli::sendmail {
namespace {

std::string trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return std::string(s);
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// "<a@b>" → "a@b"; "<>" → "".
std::string strip_angles(std::string s) {
    s = trim(s);
    if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
    return s;
}

// The field name of a header line ("Subject: x" → "Subject"), or "" if it is not one.
std::string_view field_name(std::string_view line) {
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return {};
    for (char c : line.substr(0, colon))
        if (c <= ' ' || c > '~') return {};
    return line.substr(0, colon);
}

constexpr std::string_view kNoArgFlags = "tivnUm";    // -t -i; -v -n -U -m ignored
constexpr std::string_view kArgFlags = "frFCNRVBhLX";  // -f -r -F -C; the rest ignored

}  // namespace

std::vector<std::string> parse_address_list(std::string_view v) {
    std::vector<std::string> out;
    std::string cur, angle;
    bool in_angle = false, have_angle = false, quoted = false;
    int comment = 0;
    auto finish = [&] {
        std::string a = trim(have_angle ? angle : cur);
        if (!a.empty()) out.push_back(a);
        cur.clear();
        angle.clear();
        have_angle = in_angle = false;
    };
    for (std::size_t i = 0; i < v.size(); ++i) {
        char c = v[i];
        if (quoted) {
            if (c == '\\' && i + 1 < v.size()) {
                (in_angle ? angle : cur) += v.substr(i, 2);
                ++i;
                continue;
            }
            if (c == '"') quoted = false;
            (in_angle ? angle : cur) += c;
            continue;
        }
        if (comment > 0) {
            if (c == '\\') ++i;
            else if (c == '(') ++comment;
            else if (c == ')') --comment;
            continue;
        }
        switch (c) {
            case '"': quoted = true; (in_angle ? angle : cur) += c; break;
            case '(': ++comment; break;
            case '<': in_angle = have_angle = true; angle.clear(); break;
            case '>': in_angle = false; break;
            case ':': if (!in_angle) cur.clear(); else angle += c; break;   // group "name:" (or a source route inside <>)
            case ',':
            case ';': if (!in_angle) finish(); else angle += c; break;
            default: (in_angle ? angle : cur) += c;
        }
    }
    finish();
    // A display name without angle brackets ("John Doe") is not an address.
    std::erase_if(out, [](const std::string& a) { return a.find(' ') != std::string::npos && a.front() != '"'; });
    for (std::string& a : out) {
        // A source route "@a,@b:user@c" keeps only the mailbox.
        if (std::size_t colon = a.rfind(':'); colon != std::string::npos && a.front() == '@') a = a.substr(colon + 1);
    }
    return out;
}

ParseResult parse_options(const std::vector<std::string>& args) {
    Options o;
    auto fail = [](std::string why) { return ParseResult{std::nullopt, std::move(why)}; };
    bool operands_only = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (operands_only || a.size() < 2 || a[0] != '-') {
            for (std::string& r : parse_address_list(a)) o.recipients.push_back(std::move(r));
            continue;
        }
        if (a == "--") {
            operands_only = true;
            continue;
        }
        for (std::size_t j = 1; j < a.size(); ++j) {
            char c = a[j];
            if (kNoArgFlags.find(c) != std::string_view::npos) {
                if (c == 't') o.extract_recipients = true;
                else if (c == 'i') o.ignore_dots = true;
                else o.ignored.push_back(std::string("-") + c);
                continue;
            }
            if (kArgFlags.find(c) != std::string_view::npos) {
                std::string value;
                if (j + 1 < a.size()) value = a.substr(j + 1);
                else if (i + 1 < args.size()) value = args[++i];
                else return fail(std::string("option -") + c + " needs a value");
                if (c == 'f' || c == 'r') o.sender = strip_angles(value);
                else if (c == 'F') o.full_name = value;
                else if (c == 'C') o.config = value;
                else o.ignored.push_back(std::string("-") + c + " " + value);
                break;
            }
            if (c == 'o') {   // -oi; every other -oX is a sendmail.cf option: harmless here
                std::string rest = a.substr(j + 1);
                if (rest.empty()) return fail("option -o needs a letter (e.g. -oi)");
                if (rest == "i") o.ignore_dots = true;
                else o.ignored.push_back(a);
                break;
            }
            if (c == 'b') {
                std::string mode = a.substr(j + 1);
                if (mode == "m") break;
                return fail("mode -b" + mode + " is not supported: rampart sendmail only submits mail (-bm); use `rampart queue` to list the queue");
            }
            if (c == 'q' || c == 'I' || c == 'p')
                return fail(std::string("mode -") + c + " is not supported: rampart sendmail only submits mail (-bm); use `rampart queue`");
            return fail(std::string("unknown option -") + c);
        }
    }
    return ParseResult{std::move(o), {}};
}

std::string envelope_sender(const Options& opt, const std::string& login, const std::string& hostname) {
    if (opt.sender) return *opt.sender;
    return login + "@" + hostname;
}

Prepared prepare_message(std::string_view input, const Options& opt, const Identity& who) {
    Prepared p;
    p.recipients = opt.recipients;
    if (input.find('\0') != std::string_view::npos) {
        p.error = "the message contains a NUL byte";
        return p;
    }
    // Lines, without their ends (LF, or CRLF).
    std::vector<std::string_view> lines;
    for (std::size_t pos = 0; pos < input.size();) {
        std::size_t nl = input.find('\n', pos);
        std::string_view line = input.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? input.size() : nl + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (!opt.ignore_dots && line == ".") break;
        lines.push_back(line);
    }
    // The header: the leading lines that are fields or their continuations.
    struct Field {
        std::string name;
        std::vector<std::string_view> lines;
    };
    std::vector<Field> fields;
    std::size_t i = 0;
    for (; i < lines.size(); ++i) {
        std::string_view l = lines[i];
        if (!l.empty() && (l[0] == ' ' || l[0] == '\t') && !fields.empty()) {
            fields.back().lines.push_back(l);
            continue;
        }
        std::string_view name = field_name(l);
        if (name.empty()) break;
        fields.push_back(Field{std::string(name), {l}});
    }
    bool blank_follows = i < lines.size() && lines[i].empty();
    auto has = [&](std::string_view name) {
        return std::any_of(fields.begin(), fields.end(), [&](const Field& f) { return iequals(f.name, name); });
    };
    if (opt.extract_recipients) {
        for (const Field& f : fields) {
            if (!iequals(f.name, "To") && !iequals(f.name, "Cc") && !iequals(f.name, "Bcc")) continue;
            std::string value;
            for (std::string_view l : f.lines) value += std::string(l) + " ";
            value = value.substr(f.name.size() + 1);
            for (std::string& r : parse_address_list(value)) p.recipients.push_back(std::move(r));
        }
    }
    // Bcc never leaves: its recipients must not see each other, nor be seen.
    std::erase_if(fields, [](const Field& f) { return iequals(f.name, "Bcc"); });
    std::string out;
    auto add = [&](std::string_view line) {
        out += line;
        out += "\r\n";
    };
    if (!has("From")) {
        std::string name = opt.full_name ? *opt.full_name : who.gecos_name;
        std::string addr = who.sender.empty() ? who.login + "@" + who.hostname : who.sender;
        if (name.empty()) add("From: " + addr);
        else {
            std::string q;
            for (char c : name) {
                if (c == '"' || c == '\\') q += '\\';
                if (c != '\r' && c != '\n') q += c;
            }
            add("From: \"" + q + "\" <" + addr + ">");
        }
    }
    if (!has("Date") && !who.date.empty()) add("Date: " + who.date);
    if (!has("Message-ID") && !who.message_id.empty()) add("Message-ID: " + who.message_id);
    for (const Field& f : fields)
        for (std::string_view l : f.lines) add(l);
    if (!blank_follows) add("");   // a body that began without the empty line (or none at all)
    for (; i < lines.size(); ++i) add(lines[i]);
    p.data = std::move(out);
    // Unique, in order: one RCPT per address.
    std::vector<std::string> seen;
    for (std::string& r : p.recipients) {
        r = strip_angles(r);
        if (!r.empty() && std::find(seen.begin(), seen.end(), r) == seen.end()) seen.push_back(r);
    }
    p.recipients = std::move(seen);
    return p;
}

}  // namespace rampart::cli::sendmail
