// delivery/internal_headers.cpp — removes internal hosts' traces (see internal_headers.hpp).
#include "delivery/internal_headers.hpp"

#include <strings.h>

#include <vector>

namespace rampart::delivery {
namespace {

bool named(std::string_view field, std::string_view name) {
    return field.size() > name.size() && field[name.size()] == ':' && strncasecmp(field.data(), name.data(), name.size()) == 0;
}

// The "by" host of a Received field, lower-case ("" if none).
std::string received_by(std::string_view field) {
    std::string flat;
    for (char c : field) flat += (c == '\r' || c == '\n' || c == '\t') ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::size_t at = flat.find(" by ");
    if (at == std::string::npos) return {};
    std::size_t b = flat.find_first_not_of(' ', at + 4);
    if (b == std::string::npos) return {};
    std::size_t e = flat.find_first_of(" ;", b);
    return flat.substr(b, e == std::string::npos ? std::string::npos : e - b);
}

// Our own Received field for mail from an organisation server (the hub) names the hub in
// its from clause and principal: both become "internal.invalid" (RFC 2606), the rest stays.
std::string hide_inside_peer(std::string_view f) {
    std::string out(f);
    std::size_t from = out.find("from ");
    std::size_t by = out.find("by ");
    if (from != std::string::npos && by != std::string::npos && from < by) {
        std::size_t end = out.find_last_not_of(" \t\r\n", by - 1);
        out.replace(from + 5, end + 1 - (from + 5), "internal.invalid");
    }
    std::size_t auth = out.find("\t(authenticated as server:");
    if (auth != std::string::npos) {
        std::size_t eol = out.find('\n', auth);
        if (eol != std::string::npos) out.erase(auth, eol + 1 - auth);
    }
    return out;
}

}  // namespace

std::string strip_internal_headers(std::string_view message, std::string_view own_hostname, std::size_t* removed) {
    // Split the header into fields (a field runs until a line that does not start with
    // white space); the header ends at the first empty line.
    std::vector<std::string_view> fields;
    std::size_t pos = 0, body = message.size();
    while (pos < message.size()) {
        std::size_t eol = message.find('\n', pos);
        std::size_t next = eol == std::string_view::npos ? message.size() : eol + 1;
        std::string_view line = message.substr(pos, next - pos);
        if (line == "\r\n" || line == "\n") {
            body = pos;
            break;
        }
        if ((line.front() == ' ' || line.front() == '\t') && !fields.empty())
            fields.back() = message.substr(fields.back().data() - message.data(), next - (fields.back().data() - message.data()));
        else
            fields.push_back(line);
        pos = next;
        body = pos;
    }
    std::string own;
    for (char c : own_hostname) own += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool own_found = false;
    for (std::string_view f : fields)
        if (named(f, "Received") && received_by(f) == own) own_found = true;
    std::string out;
    out.reserve(message.size());
    std::size_t dropped = 0;
    bool below_own = false;
    for (std::string_view f : fields) {
        bool drop = false;
        if (named(f, "Received")) {
            if (below_own) drop = true;
            else if (own_found && received_by(f) == own) below_own = true;
        } else {
            for (std::string_view name : kInternalTraceFields)
                if (named(f, name)) drop = true;
        }
        if (drop) ++dropped;
        else if (below_own && named(f, "Received") && f.find("(authenticated as server:") != std::string_view::npos)
            out += hide_inside_peer(f);
        else out += f;
    }
    out += message.substr(body);
    if (removed) *removed = dropped;
    return out;
}

}  // namespace rampart::delivery
