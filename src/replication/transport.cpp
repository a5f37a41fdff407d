// replication/transport.cpp — the edge's replication listener and the hub's pushes (see
// transport.hpp). Coroutines are plain functions (GCC 12 mishandles capturing lambda
// coroutines).
#include "replication/transport.hpp"

#include <ctime>
#include <set>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/ssl/context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <toml++/toml.h>

#include "net/accept_backoff.hpp"
#include "net/socket_stream.hpp"
#include "net/tls.hpp"
#include "replication/content.hpp"
#include "replication/signing.hpp"
#include "util/file_io.hpp"
#include "util/log.hpp"
#include "util/text.hpp"

namespace rampart::replication {

using namespace std::chrono_literals;

std::string rfc3339(std::int64_t t) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::int64_t parse_rfc3339(std::string_view text) {
    std::tm tm{};
    int consumed = 0;
    std::string s(text);
    if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
                    &consumed) != 6)
        return -1;
    std::string_view rest = std::string_view(s).substr(static_cast<std::size_t>(consumed));
    if (!rest.empty() && rest.front() == '.') {   // fractional seconds
        rest.remove_prefix(1);
        while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') rest.remove_prefix(1);
    }
    if (rest != "Z" && rest != "z" && rest != "+00:00") return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<std::int64_t>(timegm(&tm));
}

namespace {

std::int64_t now_seconds() { return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count(); }

constexpr auto kIoTimeout = 30s;
// Connecting to an edge: short, so `rampart hub sync --now` (the control socket waits 10 s)
// reports an unreachable edge instead of timing out itself.
constexpr auto kConnectTimeout = 5s;

// Appends what arrives to `buffer`; false on EOF, error or timeout.
asio::awaitable<bool> fill(net::Stream& s, std::string& buffer) {
    char chunk[16384];
    std::size_t n = co_await s.read_some(asio::buffer(chunk), kIoTimeout);
    if (n == 0) co_return false;
    buffer.append(chunk, n);
    co_return true;
}

// "LEN\n" then LEN bytes, LEN <= max.
asio::awaitable<Result<std::string>> read_frame(net::Stream& s, std::string& buffer, std::size_t max) {
    std::size_t nl;
    while ((nl = buffer.find('\n')) == std::string::npos) {
        if (buffer.size() > 24) co_return Error{0, "bad frame header"};
        if (!co_await fill(s, buffer)) co_return Error{0, "connection closed or timed out"};
    }
    std::size_t len = 0;
    if (nl == 0 || nl > 20) co_return Error{0, "bad frame header"};
    for (std::size_t i = 0; i < nl; ++i) {
        if (buffer[i] < '0' || buffer[i] > '9') co_return Error{0, "bad frame header"};
        len = len * 10 + static_cast<std::size_t>(buffer[i] - '0');
        if (len > max) co_return Error{0, "frame larger than " + std::to_string(max) + " bytes"};
    }
    buffer.erase(0, nl + 1);
    while (buffer.size() < len)
        if (!co_await fill(s, buffer))
            co_return Error{0, "truncated frame (" + std::to_string(buffer.size()) + " of " + std::to_string(len) + " bytes)"};
    std::string out = buffer.substr(0, len);
    buffer.erase(0, len);
    co_return out;
}

asio::awaitable<bool> write_frame(net::Stream& s, std::string_view data) {
    std::string out = std::to_string(data.size()) + "\n";
    out += data;
    co_return co_await s.write(out, kIoTimeout);
}

std::vector<std::string> words(std::string_view s) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t j = s.find(' ', i);
        if (j == std::string_view::npos) j = s.size();
        if (j > i) out.emplace_back(s.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

std::string toml_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') out.push_back('\\');
        if (static_cast<unsigned char>(c) < 0x20) continue;
        out.push_back(c);
    }
    return out;
}

std::shared_ptr<asio::ssl::context> tls_context(const config::Config& cfg, const std::filesystem::path& data, bool server,
                                                std::string& cert_pem, std::string& error) {
    std::filesystem::path cert = cfg.tls.certificate.empty() ? data / "tls" / "cert.pem" : cfg.resolve(cfg.tls.certificate);
    std::filesystem::path key = cfg.tls.certificate.empty() ? data / "tls" / "key.pem" : cfg.resolve(cfg.tls.key);
    std::error_code ec;
    if (cfg.tls.certificate.empty() && !std::filesystem::exists(cert, ec)) {
        std::filesystem::create_directories(cert.parent_path(), ec);
        if (auto r = net::write_self_signed(cert, key, cfg.server.hostname); !r) {
            error = r.error().message;
            return nullptr;
        }
    }
    auto pem = util::read_file(cert);
    if (!pem) {
        error = pem.error().message;
        return nullptr;
    }
    cert_pem = *pem;
    if (server) {
        net::ServerTlsSettings ts;
        ts.certificate = cert;
        ts.key = key;
        ts.hostname = cfg.server.hostname;
        auto t = net::make_server_context(ts, true);
        if (!t) {
            error = t.error().message;
            return nullptr;
        }
        return *t;
    }
    net::ClientTlsSettings cs;
    cs.certificate = cert;
    cs.key = key;
    auto t = net::make_client_context(cs);
    if (!t) {
        error = t.error().message;
        return nullptr;
    }
    return *t;
}

}  // namespace

// ---------------------------------------------------------------- edge

Result<EdgeStatus> read_edge_status(const std::filesystem::path& data_dir) {
    EdgeStatus st;
    std::filesystem::path file = data_dir / "edge" / "status.toml";
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) return st;
    try {
        toml::table t = toml::parse_file(file.string());
        st.hub_name = t["hub_name"].value_or(std::string());
        st.last_contact = t["last_contact"].value_or(std::int64_t{0});
        st.last_sync[0] = t["config_last_sync"].value_or(std::int64_t{0});
        st.last_sync[1] = t["recipients_last_sync"].value_or(std::int64_t{0});
        st.last_error = t["last_error"].value_or(std::string());
        st.last_error_time = t["last_error_time"].value_or(std::int64_t{0});
    } catch (const toml::parse_error& e) {
        return Error{0, file.string() + ": " + std::string(e.description())};
    }
    return st;
}

struct EdgeSync::Impl : std::enable_shared_from_this<Impl> {
    asio::any_io_executor ex;
    const config::Config& cfg;
    std::filesystem::path data;
    std::filesystem::path edge_dir;
    LiveReplica live;
    EdgeStatus status;
    std::shared_ptr<asio::ssl::context> tls;
    std::unique_ptr<asio::ip::tcp::acceptor> acceptor;
    std::unique_ptr<asio::steady_timer> watch;
    bool busy = false;
    bool warned = false;
    std::function<void()> hub_pinned;
    std::int64_t started = now_seconds();

    Impl(asio::any_io_executor e, const config::Config& c, std::filesystem::path d)
        : ex(std::move(e)), cfg(c), data(std::move(d)), edge_dir(data / "edge") {}

    void save_status() {
        std::string text = "# written by rampart serve (role edge): the replication status\n";
        text += "hub_name = \"" + toml_escape(status.hub_name) + "\"\n";
        text += "last_contact = " + std::to_string(status.last_contact) + "\n";
        text += "config_last_sync = " + std::to_string(status.last_sync[0]) + "\n";
        text += "recipients_last_sync = " + std::to_string(status.last_sync[1]) + "\n";
        text += "last_error = \"" + toml_escape(status.last_error) + "\"\n";
        text += "last_error_time = " + std::to_string(status.last_error_time) + "\n";
        std::error_code ec;
        std::filesystem::create_directories(edge_dir, ec);
        if (auto r = util::write_file_atomic(edge_dir / "status.toml", text, 0600); !r)
            log::error("edge.status.unwritable", {{"error", r.error().message}});
    }

    void refused(const std::string& peer, const std::string& why) {
        log::warn("edge.sync.refused", {{"peer", peer}, {"reason", why}, {"action", "kept the last good replica"}});
        status.last_error = why;
        status.last_error_time = now_seconds();
        save_status();
    }

    // The hello checked against the pinned hub or the bootstrap secret; "" when accepted.
    std::string authenticate(const std::vector<std::string>& hello, const std::string& cert_pem, const net::PeerCertificate& peer,
                             std::string& sign_key) {
        if (hello.size() != 5 || hello[0] != "HELLO" || hello[1] != "1") return "malformed hello";
        const std::string& hub = hello[2];
        if (!valid_entry(hub) || hub.find(' ') != std::string::npos) return "malformed hub name";
        std::filesystem::path pinned_cert = edge_dir / "hub.pem", pinned_key = edge_dir / "hub_sign.pub";
        std::filesystem::path bootstrap = edge_dir / "bootstrap.toml";
        std::error_code ec;
        if (std::filesystem::exists(pinned_cert, ec)) {
            auto pem = util::read_file(pinned_cert);
            auto key = util::read_file(pinned_key);
            if (!pem || !key) return "cannot read the pinned hub certificate or key in " + edge_dir.string();
            std::string fp = pem_fingerprint(*pem);
            if (fp.empty() || fp != peer.fingerprint)
                return "certificate " + peer.fingerprint + " is not the pinned hub's (" + fp + "): another hub, or the hub's certificate changed";
            std::string k = *key;
            while (!k.empty() && k.back() == '\n') k.pop_back();
            if (k != hello[3]) return "the signing key is not the pinned hub's";
            if (status.hub_name.empty()) {   // status.toml lost: bootstrap.toml names the pinned hub
                try {
                    status.hub_name = toml::parse_file(bootstrap.string())["hub_name"].value_or(std::string());
                } catch (const toml::parse_error&) {
                }
                if (status.hub_name.empty()) return "no hub_name in " + bootstrap.string() + " although a hub is pinned";
            }
            if (!status.hub_name.empty() && hub != status.hub_name) return "hub \"" + hub + "\" is not the pinned hub \"" + status.hub_name + "\"";
            sign_key = k;
            return "";
        }
        // First push: the bootstrap secret.
        toml::table t;
        try {
            t = toml::parse_file(bootstrap.string());
        } catch (const toml::parse_error& e) {
            return "no subscription: " + bootstrap.string() + ": " + std::string(e.description()) + " (run rampart edge new-subscription)";
        }
        if (auto expected = t["expected_hub"].value<std::string>(); expected && *expected != util::ascii_lower(hub))
            return "the subscription was made for hub \"" + *expected + "\", not \"" + hub + "\"";
        auto want = t["secret_sha256"].value<std::string>();
        if (!want) return "the bootstrap secret was already used (no secret_sha256 in " + bootstrap.string() + "); subscribe again";
        std::int64_t expires = parse_rfc3339(t["expires"].value_or(std::string()));
        if (expires < 0) return bootstrap.string() + ": expires is not an RFC 3339 time";
        if (now_seconds() > expires) return "the bootstrap secret expired at " + rfc3339(expires) + "; subscribe again";
        std::string raw;
        if (!base64url_decode(hello[4], raw) || sha256_hex(raw) != *want) return "wrong bootstrap secret";
        std::string fp = pem_fingerprint(cert_pem);
        if (fp.empty() || fp != peer.fingerprint)
            return "the certificate sent (" + fp + ") is not the one presented in the TLS handshake (" + peer.fingerprint + ")";
        std::string raw_key;
        if (!from_hex(hello[3], raw_key) || raw_key.size() != 32) return "malformed signing key";
        // Pin, then retire the secret (bootstrap.toml rewritten without secret_sha256).
        if (auto r = util::write_file_atomic(pinned_cert, cert_pem, 0600); !r) return r.error().message;
        if (auto r = util::write_file_atomic(pinned_key, hello[3] + "\n", 0600); !r) return r.error().message;
        t.erase("secret_sha256");
        t.insert_or_assign("hub_name", hub);
        std::ostringstream out;
        out << t << "\n";
        if (auto r = util::write_file_atomic(bootstrap, out.str(), 0600); !r) return r.error().message;
        status.hub_name = hub;
        save_status();
        log::info("edge.hub.pinned", {{"hub", hub}, {"fingerprint", peer.fingerprint}, {"secret", "retired"}});
        if (hub_pinned) hub_pinned();
        sign_key = hello[3];
        return "";
    }
};

namespace {

asio::awaitable<void> edge_session(std::shared_ptr<EdgeSync::Impl> self, asio::ip::tcp::socket socket) {
    std::string peer;
    {
        std::error_code ec;
        auto ep = socket.remote_endpoint(ec);
        peer = ec ? "?" : ep.address().to_string();
    }
    net::TcpStream stream(std::move(socket));
    if (!co_await stream.accept_tls(*self->tls, kIoTimeout)) {
        self->refused(peer, "TLS handshake failed: " + stream.tls_error());
        co_return;
    }
    auto cert = stream.peer_certificate();
    if (!cert) {
        self->refused(peer, "no client certificate");
        co_await write_frame(stream, "ERR a client certificate is required");
        co_return;
    }
    std::string buffer;
    auto hello = co_await read_frame(stream, buffer, 4096);
    if (!hello) {
        self->refused(peer, "hello: " + hello.error().message);
        co_return;
    }
    auto pem = co_await read_frame(stream, buffer, 65536);
    if (!pem) {
        self->refused(peer, "hello: " + pem.error().message);
        co_return;
    }
    if (self->busy) {
        co_await write_frame(stream, "ERR busy with another push");
        co_return;
    }
    self->busy = true;
    struct Release {
        EdgeSync::Impl* i;
        ~Release() { i->busy = false; }
    } release{self.get()};
    std::string sign_key;
    std::string why = self->authenticate(words(*hello), *pem, *cert, sign_key);
    if (!why.empty()) {
        self->refused(peer, why);
        co_await write_frame(stream, "ERR " + why);
        co_return;
    }
    self->status.last_contact = now_seconds();
    if (self->warned) log::info("edge.hub.reachable", {{"hub", self->status.hub_name}});
    self->warned = false;
    self->save_status();
    auto current = self->live.get();
    co_await write_frame(stream, "OK config " + std::to_string(current->config.serial) + " recipients " + std::to_string(current->recipients.serial));
    while (true) {
        auto frame = co_await read_frame(stream, buffer, kMaxMessage + 64);
        if (!frame) {
            self->refused(peer, "replication message: " + frame.error().message);
            co_return;
        }
        if (*frame == "BYE") break;
        auto m = decode(*frame);
        std::string result;
        if (!m) result = m.error().message;
        else if (!verify(sign_key, signed_part(*m), m->signature)) result = std::string(kind_name(m->kind)) + " serial " + std::to_string(m->serial) + ": bad signature";
        else if (m->hub != self->status.hub_name) result = "message from hub \"" + m->hub + "\", pinned is \"" + self->status.hub_name + "\"";
        else {
            current = self->live.get();
            auto next = apply(current->of(m->kind), *m);
            if (!next) result = next.error().message;
            else if (auto r = save_kind(replica_dir(self->data), m->kind, *next); !r) result = "cannot write the replica: " + r.error().message;
            else {
                auto updated = std::make_shared<Replica>(*current);
                updated->of(m->kind) = std::move(*next);
                updated->derive(self->cfg, self->data);
                self->live.set(updated);
                self->status.last_sync[m->kind == Kind::Config ? 0 : 1] = now_seconds();
                self->status.last_error.clear();
                self->save_status();
                log::info("edge.sync.applied", {{"hub", m->hub}, {"kind", kind_name(m->kind)}, {"serial", m->serial},
                                                {"type", m->snapshot() ? "snapshot" : "delta"}, {"entries", updated->of(m->kind).entries.size()}});
                co_await write_frame(stream, "APPLIED " + std::string(kind_name(m->kind)) + " " + std::to_string(m->serial));
                continue;
            }
        }
        self->refused(peer, result);
        co_await write_frame(stream, "REFUSED " + result);
    }
    co_await stream.finish();
}

asio::awaitable<void> edge_accept(std::shared_ptr<EdgeSync::Impl> self) {
    net::AcceptBackoff backoff("edge-sync");
    while (self->acceptor && self->acceptor->is_open()) {
        std::error_code ec;
        asio::ip::tcp::socket s = co_await self->acceptor->async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            if (ec == asio::error::operation_aborted || !self->acceptor->is_open()) co_return;
            co_await backoff.wait_after(ec);   // EMFILE and the like: back off, never spin
            continue;
        }
        backoff.accepted();
        asio::co_spawn(self->ex, edge_session(self, std::move(s)), asio::detached);
    }
}

asio::awaitable<void> edge_watch(std::shared_ptr<EdgeSync::Impl> self) {
    auto limit = std::chrono::duration_cast<std::chrono::seconds>(self->cfg.edge.hub_unreachable_warning).count();
    auto step = std::chrono::seconds(std::clamp<std::int64_t>(limit / 10, 1, 60));
    while (self->watch) {
        self->watch->expires_after(step);
        std::error_code ec;
        co_await self->watch->async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec || !self->watch) co_return;
        std::int64_t since = self->status.last_contact ? self->status.last_contact : self->started;
        if (!self->warned && now_seconds() - since > limit) {
            self->warned = true;
            log::warn("edge.hub.unreachable", {{"hub", self->status.hub_name.empty() ? "(not subscribed)" : self->status.hub_name},
                                               {"last_contact", self->status.last_contact ? rfc3339(self->status.last_contact) : "never"},
                                               {"action", "serving from the last replica"}});
        }
    }
}

}  // namespace

EdgeSync::EdgeSync(asio::any_io_executor ex, const config::Config& cfg, std::filesystem::path data_dir)
    : impl_(std::make_shared<Impl>(std::move(ex), cfg, std::move(data_dir))) {}
EdgeSync::~EdgeSync() { close(); }
const LiveReplica& EdgeSync::replica() const { return impl_->live; }

void EdgeSync::on_hub_pinned(std::function<void()> callback) { impl_->hub_pinned = std::move(callback); }

Result<Ok> EdgeSync::open() {
    auto r = load_replica(replica_dir(impl_->data));
    if (!r) return r.error();
    r->derive(impl_->cfg, impl_->data);
    impl_->live.set(std::make_shared<const Replica>(std::move(*r)));
    if (auto st = read_edge_status(impl_->data)) impl_->status = *st;
    else return st.error();
    std::string pem, error;
    impl_->tls = tls_context(impl_->cfg, impl_->data, true, pem, error);
    if (!impl_->tls) return Error{0, "[edge] replication TLS: " + error};
    const config::Endpoint& b = impl_->cfg.edge.sync_bind;
    std::error_code ec;
    auto addr = asio::ip::make_address(b.host, ec);
    if (ec) return Error{0, "edge.sync_bind: " + b.host + ": " + ec.message()};
    auto acc = std::make_unique<asio::ip::tcp::acceptor>(impl_->ex);
    asio::ip::tcp::endpoint ep(addr, b.port);
    acc->open(ep.protocol(), ec);
    if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acc->bind(ep, ec);
    if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Error{ec.value(), "edge.sync_bind " + b.text() + ": " + ec.message()};
    impl_->acceptor = std::move(acc);
    impl_->watch = std::make_unique<asio::steady_timer>(impl_->ex);
    auto replica = impl_->live.get();
    log::info("edge.sync.listening", {{"bind", b.text()}, {"hub", impl_->status.hub_name.empty() ? "(not subscribed)" : impl_->status.hub_name},
                                      {"config_serial", replica->config.serial}, {"recipients_serial", replica->recipients.serial}});
    asio::co_spawn(impl_->ex, edge_accept(impl_), asio::detached);
    asio::co_spawn(impl_->ex, edge_watch(impl_), asio::detached);
    return Ok{};
}

void EdgeSync::close() {
    std::error_code ec;
    if (impl_->acceptor) impl_->acceptor->close(ec);
    if (impl_->watch) impl_->watch->cancel();
    // Before the I/O context goes (serve.cpp closes us first).
    impl_->acceptor.reset();
    impl_->watch.reset();
}

// ---------------------------------------------------------------- hub

struct HubSync::Impl : std::enable_shared_from_this<Impl> {
    asio::any_io_executor ex;
    const config::Config& cfg;
    std::filesystem::path data;
    std::filesystem::path hub_dir;
    DirectorySource directory;
    SigningKey key;
    std::string org_key;
    std::string cert_pem;
    std::shared_ptr<asio::ssl::context> tls;
    bool busy = false;
    bool closed = false;
    std::vector<std::unique_ptr<asio::steady_timer>> timers;

    Impl(asio::any_io_executor e, const config::Config& c, std::filesystem::path d, DirectorySource dir)
        : ex(std::move(e)), cfg(c), data(std::move(d)), hub_dir(data / "hub"), directory(std::move(dir)) {}
};

namespace {

struct EdgeEntry {
    std::string name;
    config::Endpoint sync;
    std::string certificate;
    std::string secret;
};

Result<EdgeEntry> read_edge_file(const std::filesystem::path& file) {
    toml::table t;
    try {
        t = toml::parse_file(file.string());
    } catch (const toml::parse_error& e) {
        return Error{0, file.string() + ": " + std::string(e.description())};
    }
    const toml::table* s = t["subscription"].as_table();
    if (!s) s = &t;
    EdgeEntry e;
    e.name = (*s)["edge_name"].value_or(file.stem().string());
    std::string addr = (*s)["sync_address"].value_or(std::string());
    e.certificate = (*s)["certificate"].value_or(std::string());
    e.secret = (*s)["secret"].value_or(std::string());
    std::size_t colon = addr.rfind(':');
    if (colon == std::string::npos || colon == 0) return Error{0, file.string() + ": sync_address must be \"host:port\""};
    e.sync.host = addr.substr(0, colon);
    if (e.sync.host.size() > 2 && e.sync.host.front() == '[') e.sync.host = e.sync.host.substr(1, e.sync.host.size() - 2);
    try {
        int port = std::stoi(addr.substr(colon + 1));
        if (port <= 0 || port > 65535) throw std::out_of_range("port");
        e.sync.port = static_cast<std::uint16_t>(port);
    } catch (const std::exception&) {
        return Error{0, file.string() + ": sync_address must be \"host:port\""};
    }
    if (pem_fingerprint(e.certificate).empty()) return Error{0, file.string() + ": certificate is not a PEM certificate"};
    if (e.secret.empty()) e.secret = "-";
    return e;
}

struct EdgeState {
    std::uint64_t serial[2] = {0, 0};
};

std::filesystem::path state_file(const std::filesystem::path& hub_dir, const std::string& edge) { return hub_dir / "state" / (edge + ".toml"); }
std::filesystem::path sent_file(const std::filesystem::path& hub_dir, const std::string& edge, Kind k) {
    return hub_dir / "state" / (edge + "." + std::string(kind_name(k)) + ".sent");
}

EdgeState read_state(const std::filesystem::path& hub_dir, const std::string& edge) {
    EdgeState s;
    try {
        toml::table t = toml::parse_file(state_file(hub_dir, edge).string());
        s.serial[0] = static_cast<std::uint64_t>(t["config_serial"].value_or(std::int64_t{0}));
        s.serial[1] = static_cast<std::uint64_t>(t["recipients_serial"].value_or(std::int64_t{0}));
    } catch (const toml::parse_error&) {
    }
    return s;
}

void write_state(const std::filesystem::path& hub_dir, const std::string& edge, const EdgeState& s, const std::string& result) {
    std::string text = "# written by rampart serve (role hub): what was pushed to this edge\n";
    text += "config_serial = " + std::to_string(s.serial[0]) + "\n";
    text += "recipients_serial = " + std::to_string(s.serial[1]) + "\n";
    text += "last_push = \"" + rfc3339(now_seconds()) + "\"\n";
    text += "last_result = \"" + toml_escape(result) + "\"\n";
    std::error_code ec;
    std::filesystem::create_directories(hub_dir / "state", ec);
    if (auto r = util::write_file_atomic(state_file(hub_dir, edge), text, 0600); !r) log::error("hub.state.unwritable", {{"error", r.error().message}});
}

// The entries last sent (to build a delta); nullopt if unknown.
std::optional<std::set<std::string>> read_sent(const std::filesystem::path& file) {
    auto text = util::read_file(file);
    if (!text) return std::nullopt;
    std::set<std::string> out;
    std::size_t i = 0;
    while (i < text->size()) {
        std::size_t nl = text->find('\n', i);
        if (nl == std::string::npos) return std::nullopt;
        out.insert(text->substr(i, nl - i));
        i = nl + 1;
    }
    return out;
}

asio::awaitable<std::string> push_edge(std::shared_ptr<HubSync::Impl> self, EdgeEntry edge, bool kinds[2]) {
    std::error_code ec;
    asio::ip::tcp::resolver resolver(self->ex);
    auto results = co_await resolver.async_resolve(edge.sync.host, std::to_string(edge.sync.port), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return "resolve " + edge.sync.host + ": " + ec.message();
    asio::ip::tcp::socket socket(self->ex);
    asio::steady_timer timer(self->ex);
    timer.expires_after(kConnectTimeout);
    timer.async_wait([&socket](const std::error_code& e) {
        std::error_code ignored;
        if (!e) socket.close(ignored);
    });
    co_await asio::async_connect(socket, results, asio::redirect_error(asio::use_awaitable, ec));
    timer.cancel();
    if (ec) co_return "connect " + edge.sync.text() + ": " + ec.message();
    net::TcpStream stream(std::move(socket));
    if (!co_await stream.connect_tls(*self->tls, "", kIoTimeout)) co_return "TLS handshake: " + stream.tls_error();
    auto peer = stream.peer_certificate();
    std::string want = pem_fingerprint(edge.certificate);
    if (!peer || peer->fingerprint != want)
        co_return "the edge presented certificate " + (peer ? peer->fingerprint : std::string("(none)")) + ", not the pinned " + want;
    std::string buffer;
    std::string hello = "HELLO 1 " + self->cfg.server.hostname + " " + self->key.public_hex + " " + edge.secret;
    if (!co_await write_frame(stream, hello)) co_return "connection lost";
    if (!co_await write_frame(stream, self->cert_pem)) co_return "connection lost";
    auto answer = co_await read_frame(stream, buffer, 4096);
    if (!answer) co_return "hello: " + answer.error().message;
    std::vector<std::string> w = words(*answer);
    if (w.size() != 5 || w[0] != "OK") co_return "refused by the edge: " + (answer->rfind("ERR ", 0) == 0 ? answer->substr(4) : *answer);
    std::uint64_t edge_serial[2] = {0, 0};
    try {
        edge_serial[0] = std::stoull(w[2]);
        edge_serial[1] = std::stoull(w[4]);
    } catch (const std::exception&) {
        co_return "malformed answer from the edge";
    }
    EdgeState state = read_state(self->hub_dir, edge.name);
    std::string summary;
    auto dir = self->directory();
    for (Kind k : {Kind::Config, Kind::Recipients}) {
        int i = k == Kind::Config ? 0 : 1;
        if (!kinds[i]) continue;
        std::set<std::string> now = k == Kind::Config ? config_entries(self->cfg) : recipient_entries(dir ? *dir : directory::Directory{}, self->org_key);
        Message m;
        m.kind = k;
        m.hub = self->cfg.server.hostname;
        std::optional<std::set<std::string>> sent;
        if (edge_serial[i] != 0 && edge_serial[i] == state.serial[i]) sent = read_sent(sent_file(self->hub_dir, edge.name, k));
        if (sent) {
            for (const std::string& e : now)
                if (!sent->count(e)) m.added.push_back(e);
            for (const std::string& e : *sent)
                if (!now.count(e)) m.removed.push_back(e);
            if (m.added.empty() && m.removed.empty()) {
                summary += " " + std::string(kind_name(k)) + " " + std::to_string(edge_serial[i]) + " unchanged";
                continue;
            }
            m.base = edge_serial[i];
            m.serial = edge_serial[i] + 1;
        } else {
            m.added.assign(now.begin(), now.end());
            m.serial = std::max(state.serial[i], edge_serial[i]) + 1;
        }
        auto sig = sign(self->key, signed_part(m));
        if (!sig) co_return sig.error().message;
        m.signature = *sig;
        if (!co_await write_frame(stream, encode(m))) co_return "connection lost";
        auto reply = co_await read_frame(stream, buffer, 4096);
        if (!reply) co_return std::string(kind_name(k)) + ": " + reply.error().message;
        if (reply->rfind("APPLIED ", 0) != 0) {
            write_state(self->hub_dir, edge.name, state, *reply);
            co_return std::string(kind_name(k)) + " refused by the edge: " + (reply->rfind("REFUSED ", 0) == 0 ? reply->substr(8) : *reply);
        }
        state.serial[i] = m.serial;
        std::string text;
        for (const std::string& e : now) text += e + "\n";
        if (auto r = util::write_file_atomic(sent_file(self->hub_dir, edge.name, k), text, 0600); !r) co_return r.error().message;
        summary += " " + std::string(kind_name(k)) + " " + std::to_string(m.serial) + (m.snapshot() ? " snapshot" : " delta");
    }
    write_state(self->hub_dir, edge.name, state, "ok" + summary);
    co_await write_frame(stream, "BYE");
    co_await stream.finish();
    co_return "ok" + summary;
}

// One round over every edge file; "" lines for none.
asio::awaitable<std::string> push_all(std::shared_ptr<HubSync::Impl> self, bool config, bool recipients, bool* all_ok) {
    asio::steady_timer wait(self->ex);
    for (int i = 0; i < 600 && self->busy; ++i) {   // another round in progress: bounded wait
        wait.expires_after(100ms);
        std::error_code ec;
        co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (self->busy) co_return "busy: another push did not finish\n";
    self->busy = true;
    std::string out;
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(self->hub_dir / "edges", ec))
        if (e.path().extension() == ".toml") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        bool kinds[2] = {config, recipients};
        auto edge = read_edge_file(f);
        std::string result;
        std::string name = edge ? edge->name : f.stem().string();
        if (!edge) result = edge.error().message;
        else result = co_await push_edge(self, *edge, kinds);
        if (result.rfind("ok", 0) == 0) {
            log::info("hub.sync.pushed", {{"edge", name}, {"result", result}});
        } else {
            *all_ok = false;
            log::warn("hub.sync.failed", {{"edge", name}, {"error", result}});
            result = "failed: " + result;
        }
        out += name + ": " + result + "\n";
    }
    if (files.empty()) out += "no edges (data_dir/hub/edges is empty; rampart hub add-edge)\n";
    self->busy = false;
    co_return out;
}

asio::awaitable<void> hub_periodic(std::shared_ptr<HubSync::Impl> self, std::size_t timer, bool config) {
    auto interval = config ? self->cfg.hub.config_interval : self->cfg.hub.recipients_interval;
    while (!self->closed) {
        bool ok = true;
        co_await push_all(self, config, !config, &ok);
        if (self->closed) co_return;
        self->timers[timer]->expires_after(interval);
        std::error_code ec;
        co_await self->timers[timer]->async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec || self->closed) co_return;
    }
}

}  // namespace

HubSync::HubSync(asio::any_io_executor ex, const config::Config& cfg, std::filesystem::path data_dir, DirectorySource directory)
    : impl_(std::make_shared<Impl>(std::move(ex), cfg, std::move(data_dir), std::move(directory))) {}
HubSync::~HubSync() { close(); }

Result<Ok> HubSync::open() {
    std::error_code ec;
    std::filesystem::create_directories(impl_->hub_dir / "edges", ec);
    std::filesystem::create_directories(impl_->hub_dir / "state", ec);
    auto key = load_or_create_signing_key(impl_->hub_dir / "sign.key");
    if (!key) return key.error();
    impl_->key = *key;
    auto org = load_or_create_org_key(impl_->hub_dir / "org.key");
    if (!org) return org.error();
    impl_->org_key = *org;
    std::string error;
    impl_->tls = tls_context(impl_->cfg, impl_->data, false, impl_->cert_pem, error);
    if (!impl_->tls) return Error{0, "hub replication TLS: " + error};
    for (int i = 0; i < 2; ++i) impl_->timers.push_back(std::make_unique<asio::steady_timer>(impl_->ex));
    asio::co_spawn(impl_->ex, hub_periodic(impl_, 0, true), asio::detached);
    asio::co_spawn(impl_->ex, hub_periodic(impl_, 1, false), asio::detached);
    return Ok{};
}

void HubSync::close() {
    impl_->closed = true;
    for (auto& t : impl_->timers) t->cancel();
    impl_->timers.clear();   // before the I/O context goes (serve.cpp closes us first)
}

asio::awaitable<std::string> HubSync::sync_now() {
    bool ok = true;
    std::string out = co_await push_all(impl_, true, true, &ok);
    co_return (ok ? "ok\n" : "error\n") + out;
}

}  // namespace rampart::replication
