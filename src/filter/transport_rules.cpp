// filter/transport_rules.cpp — ordered rules, conditions → actions (see transport_rules.hpp).
#include "filter/transport_rules.hpp"

#include <algorithm>
#include <optional>

#include "config/address_space.hpp"
#include "filter/chain.hpp"
#include "filter/content_filter.hpp"
#include "mime/encoded_word.hpp"
#include "mime/header.hpp"
#include "mime/parser.hpp"
#include "mime/transfer_decoder.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace rampart::filter {

constexpr std::size_t kHeaderValueCap = 64 * 1024;
constexpr std::size_t kBodyPartCap = 1024 * 1024;
constexpr std::size_t kBodyTotalCap = 4 * 1024 * 1024;

// What the rules work on: the message and recipients as earlier rules left them.
struct TransportRules::Work {
    const SessionInfo& session;
    const smtp::Path* sender;
    std::string message;
    std::vector<std::string> recipients;
    std::optional<mime::Structure> parsed;
    const mime::Structure& structure() {
        if (!parsed) parsed = mime::parse(message);
        return *parsed;
    }
    void edited(std::string m) {
        message = std::move(m);
        parsed.reset();
    }
};

namespace {

// ASCII case-insensitive substring search (UTF-8 bytes compare as they are).
bool contains(std::string_view haystack, std::string_view needle) {
    if (needle.empty()) return true;
    auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(), [](char a, char b) {
        auto low = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
        return low(a) == low(b);
    });
    return it != haystack.end();
}

const std::string* any_word(std::string_view text, const std::vector<std::string>& words) {
    for (const std::string& w : words)
        if (contains(text, w)) return &w;
    return nullptr;
}

// Shown in logs and explain: quoted, escaped, at most 80 characters.
std::string shown(std::string_view s) {
    std::string e = util::display_escape(s);
    if (e.size() > 80) e = e.substr(0, 77) + "...";
    return "\"" + e + "\"";
}

// The top-level header fields named `name`, each with its value unfolded and decoded.
struct DecodedField {
    mime::HeaderField field;
    std::string value;
};
std::vector<DecodedField> fields_named(std::string_view message, const mime::Structure& s, std::string_view name) {
    std::vector<DecodedField> out;
    const mime::Part& top = s.parts.front();
    std::string_view block = message.substr(top.header_begin, top.header_end - top.header_begin);
    for (const mime::HeaderField& f : mime::header_fields(block)) {
        if (!mime::iequals(f.name, name)) continue;
        std::string unfolded = mime::unfold(f.raw_value, kHeaderValueCap);
        out.push_back({f, mime::decode_encoded_words(unfolded, kHeaderValueCap).utf8});
        out.back().field.begin += top.header_begin;
        out.back().field.end += top.header_begin;
    }
    return out;
}

// A field whose value contains one of `words`: "Subject \"...\" contains \"invoice\"".
std::optional<std::string> header_has_words(std::string_view message, const mime::Structure& s, std::string_view name,
                                            const std::vector<std::string>& words) {
    for (const DecodedField& f : fields_named(message, s, name))
        if (const std::string* w = any_word(f.value, words))
            return std::string(name) + " " + shown(f.value) + " contains " + shown(*w);
    return std::nullopt;
}

// Text a reader sees: text/plain and text/html parts that are not attachments, decoded and
// converted to UTF-8, bounded.
std::optional<std::string> body_has_words(std::string_view message, const mime::Structure& s,
                                          const std::vector<std::string>& words) {
    std::size_t budget = kBodyTotalCap;
    for (std::size_t i = 0; i < s.parts.size() && budget > 0; ++i) {
        const mime::Part& p = s.parts[i];
        if (!p.is_leaf() || p.content_type.type != "text" || p.disposition == "attachment") continue;
        if (p.content_type.subtype != "plain" && p.content_type.subtype != "html") continue;
        std::size_t cap = std::min(kBodyPartCap, budget);
        std::string raw = mime::decode_to_string(message, p, cap);
        budget -= raw.size();
        mime::DecodedText text;
        mime::append_charset(p.content_type.param("charset"), raw, cap, &text);
        if (const std::string* w = any_word(text.utf8, words))
            return "body (part " + std::to_string(i) + ", " + p.content_type.mime_type() + ") contains " + shown(*w);
    }
    return std::nullopt;
}

bool is_inside(const std::vector<config::Domain>& domains, const smtp::Mailbox& m) {
    return !m.literal && config::accepted_domain(domains, m.domain_key()) != nullptr;
}

std::string base64(std::string_view in) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < in.size(); i += 3) {
        std::uint32_t n = static_cast<unsigned char>(in[i]) << 16;
        if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
        if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
        out += i + 2 < in.size() ? kAlphabet[n & 63] : '=';
    }
    return out;
}

bool ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::string header_name(std::string_view field) { return std::string(field.substr(0, field.find(':'))); }

std::string edit(std::string_view message, Edits e) { return apply_edits(message, e); }

class Run final : public AgentRun {
public:
    Run(const TransportRules& agent, SessionInfo session) : agent_(agent), session_(std::move(session)) {}
    asio::awaitable<AgentVerdict> on(Stage stage, const MessageView& view) override {
        if (stage != Stage::EndOfData) co_return AgentVerdict::proceed();
        co_return agent_.judge(view.session ? *view.session : session_, view);
    }

private:
    const TransportRules& agent_;
    SessionInfo session_;
};

}  // namespace

TransportRules::TransportRules(const std::vector<config::TransportRule>& rules, std::vector<config::Domain> domains)
    : domains_(std::move(domains)) {
    for (const config::TransportRule& r : rules) {
        Compiled c{r, AddressList(r.from), AddressList(r.to), nullptr, nullptr};
        // The attachment filter's matching, one instance per condition so name and type are
        // two conditions (both must hold when both are given).
        config::AttachmentFilterSettings by_name;
        by_name.names = r.attachment_name;
        by_name.types.clear();
        by_name.unreadable_archives = config::UnreadableArchives::Allow;
        config::AttachmentFilterSettings by_type = by_name;
        by_type.names.clear();
        by_type.types = r.attachment_type;
        if (!r.attachment_name.empty()) c.names = std::make_unique<AttachmentFilter>(by_name);
        if (!r.attachment_type.empty()) c.types = std::make_unique<AttachmentFilter>(by_type);
        rules_.push_back(std::move(c));
    }
}

std::unique_ptr<AgentRun> TransportRules::start(const SessionInfo& session) const { return std::make_unique<Run>(*this, session); }

bool TransportRules::matches(const Compiled& c, Work& w, std::string& why) const {
    const config::TransportRule& r = c.rule;
    std::vector<std::string> reasons;
    if (!r.from.empty()) {
        if (!w.sender || w.sender->null) return false;
        const std::string* hit = c.from.match(w.sender->mailbox);
        if (!hit) return false;
        reasons.push_back("from: sender " + shown(w.sender->mailbox.text()) + " matches " + shown(*hit));
    }
    if (!r.to.empty()) {
        std::string found;
        for (const std::string& rcpt : w.recipients)
            if (auto m = smtp::parse_mailbox(rcpt))
                if (const std::string* hit = c.to.match(*m)) {
                    found = "to: recipient " + shown(rcpt) + " matches " + shown(*hit);
                    break;
                }
        if (found.empty()) return false;
        reasons.push_back(found);
    }
    if (r.from_scope) {
        bool authenticated = !w.session.principal.anonymous();
        bool inside = authenticated && w.sender && !w.sender->null && is_inside(domains_, w.sender->mailbox);
        if (inside != (*r.from_scope == config::RuleScope::Inside)) return false;
        std::string who = !w.sender || w.sender->null ? "the null sender" : "sender " + shown(w.sender->mailbox.text());
        if (inside) reasons.push_back("from_scope inside: " + who + " in an accepted domain, authenticated as " + w.session.principal.text());
        else if (!authenticated) reasons.push_back("from_scope outside: " + who + ", not authenticated");
        else reasons.push_back("from_scope outside: " + who + " not in an accepted domain");
    }
    if (r.to_scope) {
        bool want_inside = *r.to_scope == config::RuleScope::Inside;
        std::string found;
        for (const std::string& rcpt : w.recipients) {
            auto m = smtp::parse_mailbox(rcpt);
            if (m && is_inside(domains_, *m) == want_inside) {
                found = std::string("to_scope ") + (want_inside ? "inside" : "outside") + ": recipient " + shown(rcpt) +
                        (want_inside ? " in" : " not in") + " an accepted domain";
                break;
            }
        }
        if (found.empty()) return false;
        reasons.push_back(found);
    }
    if (r.size_over) {
        if (w.message.size() <= *r.size_over) return false;
        reasons.push_back("size_over: " + std::to_string(w.message.size()) + " bytes > " + std::to_string(*r.size_over));
    }
    if (r.scl_at_least) {
        std::optional<int> scl = ContentFilter::read_stamp(w.message);
        if (!scl || *scl < *r.scl_at_least) return false;
        reasons.push_back("scl_at_least: X-Rampart-SCL " + std::to_string(*scl) + " >= " + std::to_string(*r.scl_at_least));
    }
    if (r.header_contains) {
        auto hit = header_has_words(w.message, w.structure(), r.header_contains->name, r.header_contains->words);
        if (!hit) return false;
        reasons.push_back("header_contains: " + *hit);
    }
    if (r.header_matches) {
        std::string found;
        for (const DecodedField& f : fields_named(w.message, w.structure(), r.header_matches->name))
            if (glob_match(r.header_matches->pattern, f.value)) {
                found = "header_matches: " + r.header_matches->name + " " + shown(f.value) + " matches " + shown(r.header_matches->pattern);
                break;
            }
        if (found.empty()) return false;
        reasons.push_back(found);
    }
    if (!r.subject_contains.empty()) {
        auto hit = header_has_words(w.message, w.structure(), "Subject", r.subject_contains);
        if (!hit) return false;
        reasons.push_back("subject_contains: " + *hit);
    }
    if (!r.body_contains.empty()) {
        auto hit = body_has_words(w.message, w.structure(), r.body_contains);
        if (!hit) return false;
        reasons.push_back("body_contains: " + *hit);
    }
    for (const auto& [af, key] : {std::pair{c.names.get(), "attachment_name"}, std::pair{c.types.get(), "attachment_type"}}) {
        if (!af) continue;
        std::vector<AttachmentHit> hits = af->inspect(w.message, w.structure());
        if (hits.empty()) return false;
        reasons.push_back(std::string(key) + ": " + shown(hits.front().name) + " " + hits.front().why);
    }
    why.clear();
    for (const std::string& s : reasons) why += (why.empty() ? "" : ", ") + s;
    if (why.empty()) why = "no conditions (every message)";
    return true;
}

std::string TransportRules::prepend_subject(std::string_view message, std::string_view prefix) {
    mime::Structure s = mime::parse(message);
    std::vector<DecodedField> subjects = fields_named(message, s, "Subject");
    // Non-ASCII text goes as one RFC 2047 word; a following encoded word needs a space
    // between (and a space between two words is not shown, so the word keeps its own).
    std::string text(prefix);
    if (subjects.empty()) {
        std::string_view trimmed = prefix;
        while (!trimmed.empty() && trimmed.back() == ' ') trimmed.remove_suffix(1);
        std::string field = "Subject: " + (ascii(trimmed) ? std::string(trimmed) : "=?UTF-8?B?" + base64(trimmed) + "?=");
        return apply_edits(message, Edits{{field}, {}, {}, {}, {}, {}});
    }
    const DecodedField& f = subjects.front();
    if (f.value.size() >= prefix.size() && contains(std::string_view(f.value).substr(0, prefix.size()), prefix))
        return std::string(message);   // tagged already (a reply to a tagged message)
    std::string_view raw = f.field.raw_value;
    while (!raw.empty() && (raw.front() == ' ' || raw.front() == '\t')) raw.remove_prefix(1);
    bool empty_value = raw.empty() || raw.front() == '\r' || raw.front() == '\n';
    // An encoded word must be followed by whitespace; so must text before an encoded word.
    bool before_word = raw.rfind("=?", 0) == 0;
    bool needs_space = !empty_value && (!ascii(prefix) || (text.back() != ' ' && text.back() != '\t' && before_word));
    if (!ascii(prefix)) {
        // The space that must follow the word shows; a trailing space of the prefix would
        // show twice, except before another word, where the space between is not shown.
        std::string_view p = prefix;
        if (!before_word)
            while (!p.empty() && (p.back() == ' ' || p.back() == '\t')) p.remove_suffix(1);
        text = "=?UTF-8?B?" + base64(p) + "?=";
    }
    std::string out(message.substr(0, f.field.begin));
    out += std::string(f.field.name) + ": " + text + (needs_space ? " " : "");
    out += raw;
    out += message.substr(f.field.end);
    return out;
}

AgentVerdict TransportRules::judge(const SessionInfo& session, const MessageView& view) const {
    Work w{session, view.sender, std::string(view.message), {view.recipients.begin(), view.recipients.end()}, std::nullopt};
    if (view.mime) w.parsed = *view.mime;
    const std::string original_message(view.message);
    std::string reason;
    std::string first_rule;
    std::optional<AgentVerdict> quarantined;
    auto finish = [&](AgentVerdict v) {
        v.reason = reason.empty() ? "no rule matched (" + std::to_string(rules_.size()) + " rules)" : reason;
        if (w.message != original_message) v.edits.replace_message = w.message;
        auto same = [](std::string_view a, std::string_view b) { return util::ascii_lower(a) == util::ascii_lower(b); };
        for (const std::string& o : view.recipients)
            if (std::none_of(w.recipients.begin(), w.recipients.end(), [&](const std::string& r) { return same(r, o); }))
                v.edits.remove_recipients.push_back(o);
        for (const std::string& n : w.recipients)
            if (std::none_of(view.recipients.begin(), view.recipients.end(), [&](const std::string& r) { return same(r, n); }))
                v.edits.add_recipients.push_back(n);
        return v;
    };
    for (const Compiled& c : rules_) {
        const config::TransportRule& r = c.rule;
        std::string why;
        if (!matches(c, w, why)) continue;
        const std::string rule = "transport_rules." + r.name;
        if (first_rule.empty()) first_rule = rule;
        std::vector<std::string> done;
        if (!r.prepend_subject.empty()) {
            std::string m = prepend_subject(w.message, r.prepend_subject);
            done.push_back(m == w.message ? "prepend_subject (already there)" : "prepend_subject");
            w.edited(std::move(m));
        }
        for (const std::string& h : r.add_header) w.edited(edit(w.message, Edits{{h}, {}, {}, {}, {}, {}}));
        for (const std::string& h : r.set_header) w.edited(edit(w.message, Edits{{h}, {header_name(h)}, {}, {}, {}, {}}));
        for (const std::string& h : r.remove_header) w.edited(edit(w.message, Edits{{}, {h}, {}, {}, {}, {}}));
        if (!r.add_header.empty()) done.push_back("add_header");
        if (!r.set_header.empty()) done.push_back("set_header");
        if (!r.remove_header.empty()) done.push_back("remove_header");
        if (r.set_scl) {
            std::string h = std::string(ContentFilter::kHeader) + ": " + std::to_string(*r.set_scl);
            w.edited(edit(w.message, Edits{{h}, {std::string(ContentFilter::kHeader)}, {}, {}, {}, {}}));
            done.push_back("set_scl " + std::to_string(*r.set_scl));
        }
        if (!r.redirect.empty()) {
            w.recipients = r.redirect;
            std::string to;
            for (const std::string& a : r.redirect) to += (to.empty() ? "" : ",") + a;
            done.push_back("redirect to " + to);
        }
        for (const std::string& a : r.bcc)
            if (std::none_of(w.recipients.begin(), w.recipients.end(),
                             [&](const std::string& x) { return util::ascii_lower(x) == util::ascii_lower(a); }))
                w.recipients.push_back(a);
        if (!r.bcc.empty()) {
            std::string to;
            for (const std::string& a : r.bcc) to += (to.empty() ? "" : ",") + a;
            done.push_back("bcc " + to);
        }
        if (r.quarantine) done.push_back("quarantine");
        if (r.reject) done.push_back("reject " + std::to_string(r.reject->code) + " " + r.reject->status);
        if (r.drop) done.push_back("drop");
        if (r.stop) done.push_back("stop");
        std::string actions;
        for (const std::string& d : done) actions += (actions.empty() ? "" : ", ") + d;
        reason += (reason.empty() ? "" : "; ") + std::string("rule ") + shown(r.name) + " matched (" + why + "): " + actions;
        log::info("transport_rules.match", {{"listener", session.listener}, {"client", session.client.text()},
                                            {"rule", r.name}, {"why", why}, {"actions", actions}});
        if (r.reject)
            return finish(AgentVerdict::refuse(smtp::Reply(r.reject->code, r.reject->status, r.reject->text), rule, {}));
        if (r.drop) return finish(AgentVerdict::discard(rule, {}));
        if (r.quarantine && !quarantined) quarantined = AgentVerdict::quarantine(rule, {});
        if (r.stop) break;
    }
    if (quarantined) return finish(std::move(*quarantined));
    return finish(AgentVerdict::proceed(first_rule, {}));
}

}  // namespace rampart::filter
