// filter/attachment_filter.cpp — attachments matched by name, declared and sniffed type,
// inside message/rfc822 parts and zip archives; strip, reject or silent-delete (see header).
#include "filter/attachment_filter.hpp"

#include <array>

#include "mime/parser.hpp"
#include "mime/rewrite.hpp"
#include "mime/transfer_decoder.hpp"
#include "mime/zip.hpp"
#include "util/text.hpp"

namespace rampart::filter {
namespace {

using config::AttachmentAction;

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// The flags that mean the parser could not open a part, so what is inside was not seen.
constexpr std::array kUninspectable{mime::Flag::TooDeep, mime::Flag::TooManyParts, mime::Flag::EncodedComposite,
                                    mime::Flag::MissingBoundary, mime::Flag::HeaderTooLong,
                                    mime::Flag::TooManyHeaders};

// The forms of a file name a glob is matched against: as given, without trailing dots and
// spaces (Windows drops them: "evil.exe." runs as evil.exe), cut at a NUL or other control
// byte (a C string ends there), and the last path component of each.
std::vector<std::string> name_forms(std::string_view name) {
    std::vector<std::string> forms;
    auto add = [&](std::string_view n) {
        while (!n.empty() && (n.back() == '.' || n.back() == ' ' || n.back() == '\t')) n.remove_suffix(1);
        while (!n.empty() && (n.front() == ' ' || n.front() == '\t')) n.remove_prefix(1);
        if (n.empty()) return;
        for (const std::string& f : forms)
            if (f == n) return;
        forms.emplace_back(n);
    };
    std::string_view whole = name;
    add(whole);
    std::size_t ctl = 0;
    while (ctl < whole.size() && static_cast<unsigned char>(whole[ctl]) >= 0x20) ++ctl;
    if (ctl < whole.size()) add(whole.substr(0, ctl));
    for (std::size_t i = 0, n = forms.size(); i < n; ++i) {
        std::string f = forms[i];
        std::size_t slash = f.find_last_of("/\\");
        if (slash != std::string::npos) add(std::string_view(f).substr(slash + 1));
    }
    return forms;
}

const std::string* match_name(const std::vector<std::string>& globs, std::string_view name) {
    if (name.empty()) return nullptr;
    for (const std::string& form : name_forms(name))
        for (const std::string& g : globs)
            if (!g.empty() && glob_match(g, form)) return &g;
    return nullptr;
}

const std::string* match_type(const std::vector<std::string>& globs, std::string_view type) {
    for (const std::string& g : globs)
        if (!g.empty() && glob_match(g, type)) return &g;
    return nullptr;
}

// A name as it may appear in an SMTP reply: printable ASCII only (anything else is '?',
// one per UTF-8 sequence), at most 60 characters.
std::string client_safe(std::string_view name) {
    std::string out;
    for (std::size_t i = 0; i < name.size();) {
        unsigned char c = static_cast<unsigned char>(name[i]);
        char32_t cp = 0;
        std::size_t len = c >= 0x80 ? util::utf8_sequence(name.substr(i), cp) : 1;
        out += c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '?';
        i += len == 0 ? 1 : len;
    }
    if (out.size() > 60) out = out.substr(0, 57) + "...";
    return out.empty() ? "(unnamed)" : out;
}

// A name for the notice in the message (UTF-8 kept, controls and bidi overrides escaped).
std::string notice_safe(std::string_view name) {
    std::string out = util::display_escape(name);
    if (out.size() > 200) out = out.substr(0, 197) + "...";
    return out;
}

std::string part_name(const mime::Part& p, std::size_t index) {
    if (!p.display_name().empty()) return p.display_name();
    return "(unnamed part " + std::to_string(index) + " " + p.content_type.mime_type() + ")";
}

class Run final : public AgentRun {
public:
    explicit Run(const AttachmentFilter& agent) : agent_(agent) {}
    asio::awaitable<AgentVerdict> on(Stage stage, const MessageView& view) override {
        if (stage != Stage::EndOfData) co_return AgentVerdict::proceed();
        if (view.mime) co_return agent_.judge(view.message, *view.mime);
        mime::Structure parsed = mime::parse(view.message);
        co_return agent_.judge(view.message, parsed);
    }

private:
    const AttachmentFilter& agent_;
};

}  // namespace

bool glob_match(std::string_view pattern, std::string_view name) {
    // Greedy with one backtrack point: linear in name × pattern at worst, no recursion.
    std::size_t p = 0, n = 0, star = std::string_view::npos, mark = 0;
    while (n < name.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = n;
        } else if (p < pattern.size() && (pattern[p] == '?' || lower(pattern[p]) == lower(name[n]))) {
            ++p;
            ++n;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            n = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

std::vector<AttachmentHit> AttachmentFilter::inspect(std::string_view message, const mime::Structure& s) const {
    std::vector<AttachmentHit> hits;
    std::vector<bool> covered(s.parts.size(), false);
    const auto& st = settings_;
    const bool block_unreadable = st.unreadable_archives == config::UnreadableArchives::Block;
    for (std::size_t i = 0; i < s.parts.size(); ++i) {
        const mime::Part& p = s.parts[i];
        if (p.parent != mime::no_parent && p.parent < covered.size() && covered[p.parent]) {
            covered[i] = true;
            continue;
        }
        auto hit = [&](std::string name, std::string rule, std::string why) {
            hits.push_back({i, std::move(name), std::move(rule), std::move(why)});
            covered[i] = true;
        };
        if (block_unreadable) {
            mime::Flag bad{};
            bool found = false;
            for (mime::Flag f : kUninspectable)
                if (!found && p.flags.has(f)) {
                    bad = f;
                    found = true;
                }
            if (found) {
                hit(part_name(p, i), "attachment_filter.unreadable_archives",
                    "part could not be inspected: " + std::string(mime::flag_reason(bad)));
                continue;
            }
        }
        if (!p.is_leaf()) continue;   // a multipart or message/rfc822: its parts are looked at one by one
        for (const std::string* n : {&p.filename, &p.name}) {
            if (const std::string* g = match_name(st.names, *n)) {
                hit(*n, "attachment_filter.names", "name matches " + *g);
                break;
            }
        }
        // A name cut by the parser lost its end (the extension): it cannot be checked.
        if (!covered[i] && !st.names.empty() && p.flags.has(mime::Flag::NameTooLong))
            hit(part_name(p, i), "attachment_filter.names", std::string(mime::flag_reason(mime::Flag::NameTooLong)));
        if (covered[i]) continue;
        if (p.content_type.declared)
            if (const std::string* g = match_type(st.types, p.content_type.mime_type())) {
                hit(part_name(p, i), "attachment_filter.types", "declared type " + p.content_type.mime_type() + " matches " + *g);
                continue;
            }
        if (const std::string* g = match_type(st.types, p.sniffed.mime)) {
            hit(part_name(p, i), "attachment_filter.types",
                "sniffed type " + std::string(p.sniffed.mime) + " matches " + *g);
            continue;
        }
        if (!st.inspect_archives) continue;
        std::string head = mime::decode_to_string(message, p, 4);
        if (!mime::looks_like_zip(std::span(reinterpret_cast<const unsigned char*>(head.data()), head.size()))) continue;
        std::string archive = mime::decode_to_string(message, p, p.body_end - p.body_begin);
        mime::ZipListing z = mime::list_zip(archive);
        const std::string outer = part_name(p, i);
        auto member_path = [&](std::size_t m) {
            std::string path;
            for (std::size_t k = m; k != mime::no_parent; k = z.members[k].parent)
                path = z.members[k].name + (path.empty() ? "" : "/") + path;
            return outer + "/" + path;
        };
        std::string unreadable;
        for (std::size_t m = 0; m < z.members.size() && !covered[i]; ++m) {
            const mime::ZipMember& zm = z.members[m];
            if (zm.directory) continue;
            if (const std::string* g = match_name(st.names, zm.name)) {
                hit(member_path(m), "attachment_filter.names", "name in archive matches " + *g);
            } else if (zm.name_cut && !st.names.empty()) {
                hit(member_path(m), "attachment_filter.names", "name in archive too long to check");
            } else if (zm.sniffed_ok && match_type(st.types, zm.sniffed.mime)) {
                hit(member_path(m), "attachment_filter.types",
                    "sniffed type in archive " + std::string(zm.sniffed.mime) + " matches " + *match_type(st.types, zm.sniffed.mime));
            } else if (unreadable.empty() && zm.encrypted) {
                unreadable = "encrypted archive member " + zm.name;
            } else if (unreadable.empty() && !zm.sniffed_ok) {
                unreadable = "archive member " + zm.name + " compressed with unsupported method " + std::to_string(zm.method);
            }
        }
        if (covered[i] || !block_unreadable) continue;
        if (unreadable.empty() && (z.malformed || z.truncated)) unreadable = (z.truncated ? "archive over the inspection bounds: " : "corrupt archive: ") + z.problem;
        if (!unreadable.empty()) hit(outer, "attachment_filter.unreadable_archives", unreadable);
    }
    return hits;
}

AgentVerdict AttachmentFilter::judge(std::string_view message, const mime::Structure& s) const {
    std::vector<AttachmentHit> hits = inspect(message, s);
    if (hits.empty()) return AgentVerdict::proceed("", "no blocked attachment");
    const AttachmentHit& first = hits.front();
    std::string reason;
    for (const AttachmentHit& h : hits)
        reason += (reason.empty() ? "" : "; ") + util::display_escape(h.name) + ": " + util::display_escape(h.why);
    auto refuse = [&](std::string extra) {
        bool unreadable = first.rule == "attachment_filter.unreadable_archives";
        std::string text = "message refused: attachment " + client_safe(first.name) +
                           (unreadable ? " cannot be inspected" : " is not allowed");
        return AgentVerdict::refuse(smtp::Reply(554, "5.7.1", text), first.rule, extra + reason);
    };
    switch (settings_.action) {
    case AttachmentAction::Reject: return refuse("");
    case AttachmentAction::SilentDelete: return AgentVerdict::discard(first.rule, "deleted silently: " + reason);
    case AttachmentAction::Strip: break;
    }
    std::vector<mime::Edit> edits;
    for (const AttachmentHit& h : hits) {
        if (h.part == 0) return refuse("strip impossible (the whole message is the attachment), refused: ");
        bool unreadable = h.rule == "attachment_filter.unreadable_archives";
        std::string notice = "The attachment " + notice_safe(h.name) + " was removed by the mail server's attachment filter" +
                             (unreadable ? " because it could not be inspected (" : " (") + notice_safe(h.why) + ").\n";
        edits.push_back(mime::Edit::replace(h.part, mime::text_part(notice)));
    }
    Result<std::string> rewritten = mime::rewrite(message, s, edits);
    if (!rewritten) return refuse("strip impossible (" + rewritten.error().message + "), refused: ");
    AgentVerdict v = AgentVerdict::proceed(first.rule, "stripped: " + reason);
    v.edits.replace_message = std::move(*rewritten);
    return v;
}

std::unique_ptr<AgentRun> AttachmentFilter::start(const SessionInfo&) const { return std::make_unique<Run>(*this); }

}  // namespace rampart::filter
