// console/listeners_page.cpp — the listener pages (see the header).
#include "console/listeners_page.hpp"

#include "config/check.hpp"
#include "config/config.hpp"
#include "config/edit.hpp"
#include "config/load.hpp"
#include "config/roles.hpp"
#include "console/config_change.hpp"
#include "util/file_io.hpp"

namespace rampart::console {
namespace {

enum class Kind { Bool, Choice, List, Shown };

// One setting on the page: `setting` as `rampart check` and the file spell it.
struct Setting {
    std::string_view setting;
    std::string_view label;
    Kind kind;
    std::vector<std::pair<std::string_view, std::string_view>> choices = {};   // value, label
};

struct Section {
    std::string_view id, title, note;
    std::vector<Setting> settings;
};

const std::vector<Section>& sections() {
    static const std::vector<Section> kSections = {
        {"auth", "Authentication", "",
         {{"auth.anonymous", "Anonymous access (no authentication)", Kind::Bool},
          {"auth.basic", "Basic authentication (AUTH PLAIN, LOGIN: a user name and password)", Kind::Bool},
          {"auth.basic_requires_tls", "Basic authentication only after TLS (STARTTLS)", Kind::Bool},
          {"auth.integrated", "Integrated authentication (GSSAPI, Kerberos)", Kind::Bool},
          {"auth.server", "Organisation servers (TLS client certificate, AUTH EXTERNAL)", Kind::Bool},
          {"tls", "TLS", Kind::Choice, {{"starttls", "STARTTLS offered"}, {"implicit", "TLS from the first byte"}, {"none", "none"}}}}},
        {"connection", "Connection control", "Client addresses allowed to connect, one prefix a line; others get 554 5.7.1.",
         {{"remote_ranges", "Remote ranges allowed", Kind::List}, {"internet_facing", "Internet-facing", Kind::Shown}}},
        {"relay", "Relay restrictions", "Computers that may relay (send to domains this server is not authoritative for), one prefix a line.",
         {{"relay.mode", "Relay for", Kind::Choice, {{"only-list", "Only the list below"}, {"all-except-list", "All except the list below"}}},
          {"relay.list", "List", Kind::List},
          {"relay.allow_authenticated", "Allow all computers which successfully authenticate to relay, regardless of the list above", Kind::Bool},
          {"relay.force_open_relay", "Forced open relay", Kind::Shown}}},
        {"permissions", "Permissions",
         "Who may submit and who may relay beyond the rules above, one a line: user:NAME, group:NAME, server:NAME or authenticated.",
         {{"permissions.submit", "Submit", Kind::List}, {"permissions.relay", "Relay", Kind::List}}},
    };
    return kSections;
}

const config::Listener* listener_named(const config::Config& c, std::string_view name) {
    for (const config::Listener& l : c.listeners)
        if (l.name == name) return &l;
    return nullptr;
}

// The listener's current value of an editable setting, as the form shows it.
bool bool_of(const config::Listener& l, std::string_view s) {
    if (s == "auth.anonymous") return l.auth.anonymous;
    if (s == "auth.basic") return l.auth.basic;
    if (s == "auth.basic_requires_tls") return l.auth.basic_requires_tls;
    if (s == "auth.integrated") return l.auth.integrated;
    if (s == "auth.server") return l.auth.server;
    if (s == "relay.allow_authenticated") return l.relay.allow_authenticated;
    return false;
}
std::string choice_of(const config::Listener& l, std::string_view s) {
    if (s == "tls") return l.tls == config::TlsMode::None ? "none" : l.tls == config::TlsMode::StartTls ? "starttls" : "implicit";
    if (s == "relay.mode") return l.relay.mode == config::RelayMode::OnlyList ? "only-list" : "all-except-list";
    return "";
}
std::vector<std::string> cidr_texts(const std::vector<net::Cidr>& v) {
    std::vector<std::string> out;
    for (const net::Cidr& c : v) out.push_back(c.text());
    return out;
}
std::vector<std::string> list_of(const config::Listener& l, std::string_view s) {
    if (s == "remote_ranges") return cidr_texts(l.remote_ranges);
    if (s == "relay.list") return cidr_texts(l.relay.list);
    if (s == "permissions.submit") return l.permissions.submit;
    if (s == "permissions.relay") return l.permissions.relay;
    return {};
}

// Lines and commas split, blanks dropped.
std::vector<std::string> split_list(std::string_view text) {
    std::vector<std::string> out;
    std::string cur;
    auto flush = [&] {
        std::size_t b = cur.find_first_not_of(" \t\r");
        std::size_t e = cur.find_last_not_of(" \t\r");
        if (b != std::string::npos) out.push_back(cur.substr(b, e - b + 1));
        cur.clear();
    };
    for (char c : text) {
        if (c == '\n' || c == ',') flush();
        else cur += c;
    }
    flush();
    return out;
}

std::string field_name(std::string_view setting) {
    std::string f(setting);
    for (char& c : f)
        if (c == '.') c = '_';
    return f;
}

config::ListenerEdit edit_of(std::string_view setting, std::string value) {
    std::size_t dot = setting.find('.');
    if (dot == std::string_view::npos) return {"", std::string(setting), std::move(value)};
    return {std::string(setting.substr(0, dot)), std::string(setting.substr(dot + 1)), std::move(value)};
}

// The file's text and hash for the forms; empty text: read-only (message says why).
struct FileState {
    bool editable = false;
    std::string hash;
    std::string message;
    std::string text;
};

FileState file_state(const Services& s) {
    FileState st;
    if (s.config_path.empty()) {
        st.message = "Read-only: rampart was started with the embedded default configuration. Start it with "
                     "<code>rampart serve -c FILE</code> to change listeners here.";
        return st;
    }
    auto text = util::read_file(s.config_path);
    if (!text) {
        st.message = "Read-only: " + escape(text.error().message);
        return st;
    }
    st.editable = true;
    st.hash = text_hash(*text);
    st.text = std::move(*text);
    return st;
}

// Whether the file on disk gives `l` the settings it runs with (false: edited since the
// last reload, or not loadable).
bool same_in_file(const Services& s, const std::string& text, const config::Config& running, const config::Listener& l) {
    config::LoadResult loaded =
        config::load_text(text, s.config_path.string(), std::filesystem::absolute(s.config_path).parent_path().string());
    const config::Config* file = std::get_if<config::Config>(&loaded);
    const config::Listener* fl = file ? listener_named(*file, l.name) : nullptr;
    if (!fl) return false;
    std::vector<config::SettingValue> a = config::listener_values(*file, *fl), b = config::listener_values(running, l);
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].value != b[i].value) return false;
    return true;
}

std::string listener_url(std::string_view name) { return "/console/listener?name=" + url_encode(name); }

asio::awaitable<admin::HttpResponse> listeners_index(const PageRequest& r) {
    std::shared_ptr<const config::Config> cfg = r.console.services().config();
    std::vector<config::Finding> findings = config::analyse(*cfg);
    std::string body = "<p>Role <strong>" + escape(config::role_name(cfg->server.role)) +
                       "</strong>. Each listener's access settings, beside its role preset.</p>"
                       "<table><tr><th>Listener</th><th>Preset</th><th>Addresses</th><th>TLS</th><th>Reach</th><th>Check</th></tr>";
    for (const config::Listener& l : cfg->listeners) {
        std::size_t exposures = 0, infos = 0;
        for (const config::Finding& f : findings)
            if (f.listener == l.name) (f.severity == config::Severity::Info ? infos : exposures)++;
        std::string binds;
        for (const config::Endpoint& e : l.bind) binds += (binds.empty() ? "" : ", ") + escape(e.text());
        body += "<tr><td><a href=\"" + escape(listener_url(l.name)) + "\">" + escape(l.name) + "</a></td><td>" +
                escape(config::kind_name(l.preset)) + "</td><td>" + binds + "</td><td>" + escape(choice_of(l, "tls")) + "</td><td>" +
                (l.internet_facing.value_or(true) ? "internet-facing" : "internal") + "</td><td>" +
                (exposures ? std::to_string(exposures) + " exposure(s)" : std::string("follows the preset")) +
                (infos ? ", " + std::to_string(infos) + " informational" : std::string()) + "</td></tr>";
    }
    body += "</table>";
    co_return r.page("Listeners", body);
}

std::string section_html(const PageRequest& r, const config::Config& cfg, const config::Listener& l, const Section& sec,
                         const std::vector<config::Finding>& findings, const FileState& fs) {
    std::vector<config::SettingValue> values = config::listener_values(cfg, l);
    auto shown = [&](std::string_view setting) -> const config::SettingValue* {
        for (const config::SettingValue& v : values)
            if (v.setting == setting) return &v;
        return nullptr;
    };
    std::string out = "<h2 id=\"" + std::string(sec.id) + "\">" + escape(sec.title) + "</h2>";
    out += "<table><tr><th>Setting</th><th>Value</th><th>Role preset</th></tr>";
    for (const Setting& s : sec.settings) {
        const config::SettingValue* v = shown(s.setting);
        out += "<tr><td>" + escape(s.label) + "<br><code>" + escape(s.setting) + "</code></td><td><code>" + escape(v ? v->value : "") +
               "</code></td><td class=\"preset\"><code>" + escape(v ? v->preset : "") + "</code></td></tr>";
        for (const config::Finding& f : findings)
            if (f.listener == l.name && f.setting == s.setting)
                out += "<tr><td colspan=\"3\"><pre class=\"" + std::string(f.severity == config::Severity::Info ? "preset" : "warning") +
                       "\" data-setting=\"" + escape(f.setting) + "\">" + escape(config::render_finding(f)) + "</pre></td></tr>";
    }
    if (sec.id == "auth") {
        std::string cert = cfg.tls.certificate.empty() ? "self-signed, made in data_dir/tls" : cfg.tls.certificate.string();
        out += "<tr><td>STARTTLS certificate<br><code>tls.certificate</code></td><td><code>" + escape(cert) +
               "</code></td><td class=\"preset\"></td></tr>";
    }
    out += "</table>";
    if (!fs.editable) return out;
    out += "<form method=\"post\" action=\"/console/listener\"><fieldset><legend>Change " + escape(sec.title) + "</legend>";
    if (!sec.note.empty()) out += "<p>" + escape(sec.note) + "</p>";
    out += csrf_input(r.viewer) + "<input type=\"hidden\" name=\"name\" value=\"" + escape(l.name) + "\">" +
           "<input type=\"hidden\" name=\"section\" value=\"" + std::string(sec.id) + "\">" +
           "<input type=\"hidden\" name=\"hash\" value=\"" + fs.hash + "\">";
    for (const Setting& s : sec.settings) {
        std::string name = field_name(s.setting);
        switch (s.kind) {
            case Kind::Bool:
                out += "<p><label><input type=\"checkbox\" name=\"" + name + "\" value=\"on\"" + (bool_of(l, s.setting) ? " checked" : "") +
                       "> " + escape(s.label) + "</label></p>";
                break;
            case Kind::Choice:
                out += "<p>" + escape(s.label) + ":";
                for (const auto& [value, label] : s.choices)
                    out += " <label><input type=\"radio\" name=\"" + name + "\" value=\"" + std::string(value) + "\"" +
                           (choice_of(l, s.setting) == value ? " checked" : "") + "> " + escape(label) + "</label>";
                out += "</p>";
                break;
            case Kind::List: {
                std::string lines;
                for (const std::string& item : list_of(l, s.setting)) lines += item + "\n";
                out += "<p><label>" + escape(s.label) + "<br><textarea name=\"" + name + "\" rows=\"4\" cols=\"50\">" + escape(lines) +
                       "</textarea></label></p>";
                break;
            }
            case Kind::Shown: break;
        }
    }
    out += "<button type=\"submit\">Apply</button></fieldset></form>";
    return out;
}

admin::HttpResponse listener_view(const PageRequest& r) {
    std::shared_ptr<const config::Config> cfg = r.console.services().config();
    std::string name(r.field("name").value_or(""));
    const config::Listener* l = listener_named(*cfg, name);
    if (!l) return r.page("Listener", "<div class=\"error\">No listener named \"" + escape(name) + "\".</div>", 404);
    std::vector<config::Finding> findings = config::analyse(*cfg);
    FileState fs = file_state(r.console.services());
    std::string body = "<p>Preset <strong>" + escape(config::role_name(cfg->server.role)) +
                       " / " + escape(config::kind_name(l->preset)) + "</strong>";
    for (const config::Endpoint& e : l->bind) body += ", " + escape(e.text());
    body += "</p>";
    if (!fs.editable) body += "<div class=\"warning\">" + fs.message + "</div>";
    else if (!same_in_file(r.console.services(), fs.text, *cfg, *l))
        body += "<div class=\"warning\">The configuration file has changes to this listener that are not applied yet (no reload since): "
                "the values below are the running ones; a change made here applies the file's too.</div>";
    for (const Section& sec : sections()) body += section_html(r, *cfg, *l, sec, findings, fs);
    return r.page("Listener " + l->name, body);
}

admin::HttpResponse listener_change(const PageRequest& r) {
    const Services& services = r.console.services();
    std::shared_ptr<const config::Config> cfg = services.config();
    std::string name(r.field("name").value_or(""));
    std::string section_id(r.field("section").value_or(""));
    const config::Listener* l = listener_named(*cfg, name);
    const Section* sec = nullptr;
    for (const Section& s : sections())
        if (s.id == section_id) sec = &s;
    if (!l || !sec) return r.page("Listener", "<div class=\"error\">No such listener or section.</div>", 404);
    ConfigChange change{name, {}, std::string(r.field("hash").value_or(""))};
    for (const Setting& s : sec->settings) {
        std::string field = field_name(s.setting);
        switch (s.kind) {
            case Kind::Bool: {
                bool v = r.field(field).has_value();
                if (v != bool_of(*l, s.setting)) change.edits.push_back(edit_of(s.setting, v ? "true" : "false"));
                break;
            }
            case Kind::Choice: {
                auto v = r.field(field);
                if (!v) break;
                bool known = false;
                for (const auto& [value, label] : s.choices) known = known || value == *v;
                if (!known) return r.page("Listener", "<div class=\"error\">" + escape(s.setting) + ": not one of the choices.</div>", 400);
                if (*v != choice_of(*l, s.setting)) change.edits.push_back(edit_of(s.setting, config::toml_string(*v)));
                break;
            }
            case Kind::List: {
                auto v = r.field(field);
                if (!v) break;
                std::vector<std::string> items = split_list(*v);
                if (items != list_of(*l, s.setting)) change.edits.push_back(edit_of(s.setting, config::toml_array(items)));
                break;
            }
            case Kind::Shown: break;
        }
    }
    std::string back = "<p><a href=\"" + escape(listener_url(name)) + "\">Back to listener " + escape(name) + "</a></p>";
    if (change.edits.empty()) return r.page("Listener " + name, "<div class=\"ok\">Nothing to change.</div>" + back);
    ChangeOutcome o = change_listener(services, r.viewer, change);
    std::string body = "<h2>" + escape(sec->title) + "</h2>";
    int status = 200;
    switch (o.status) {
        case ChangeOutcome::Applied:
            body += "<div class=\"ok\">Applied: the configuration file was changed and reloaded. New sessions use the new settings; "
                    "sessions in progress finish on the previous ones.</div>";
            break;
        case ChangeOutcome::Unchanged: body += "<div class=\"ok\">Nothing to change.</div>"; break;
        case ChangeOutcome::Stale: status = 409; [[fallthrough]];
        case ChangeOutcome::Refused:
            if (status == 200) status = 400;
            body += "<div class=\"error\">Not changed: <pre>" + escape(o.message) + "</pre></div>";
            break;
        case ChangeOutcome::NotApplied:
            status = 500;
            body += "<div class=\"error\"><pre>" + escape(o.message) + "</pre></div>";
            break;
    }
    if (!o.changed.empty() && (o.status == ChangeOutcome::Applied || o.status == ChangeOutcome::NotApplied)) {
        body += "<table><tr><th>Setting</th><th>Before</th><th>After</th></tr>";
        for (const ChangeOutcome::Setting& s : o.changed)
            body += "<tr><td><code>" + escape(s.setting) + "</code></td><td><code>" + escape(s.before) + "</code></td><td><code>" +
                    escape(s.after) + "</code></td></tr>";
        body += "</table>";
    }
    if (!o.new_findings.empty()) {
        body += "<h2>New findings of rampart check</h2>";
        for (const config::Finding& f : o.new_findings)
            body += "<pre class=\"" + std::string(f.severity == config::Severity::Info ? "preset" : "warning") + "\">" +
                    escape(config::render_finding(f)) + "</pre>";
    }
    return r.page("Listener " + name, body + back, status);
}

asio::awaitable<admin::HttpResponse> listener_page(const PageRequest& r) {
    if (r.http.method == "POST") co_return listener_change(r);
    co_return listener_view(r);
}

}  // namespace

void add_listener_pages(Console& console) {
    console.page("/console/listeners", "Listeners", {"GET"}, listeners_index);
    console.page("/console/listener", "", {"GET", "POST"}, listener_page);
}

}  // namespace rampart::console
