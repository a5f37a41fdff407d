// dns/resolver.cpp — the shared asynchronous resolver (see resolver.hpp): cache, queries
// in flight, and UDP/TCP exchanges with the name servers on the caller's executor.
#include "dns/resolver.hpp"
#include "net/descriptor_budget.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <variant>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace rampart::dns {
namespace {

std::string strip_dot(std::string s) {
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
}

std::string type_text(std::uint16_t type) {
    switch (type) {
        case rr_type::A: return "A";
        case rr_type::AAAA: return "AAAA";
        case rr_type::MX: return "MX";
        case rr_type::TXT: return "TXT";
        case rr_type::PTR: return "PTR";
        default: return "type " + std::to_string(type);
    }
}

// The nameserver lines of resolv.conf (IPv4 and IPv6), port 53.
std::vector<config::Endpoint> system_servers() {
    std::vector<config::Endpoint> out;
    std::ifstream in("/etc/resolv.conf");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::string key, addr;
        if (!(words >> key >> addr) || key != "nameserver") continue;
        if (auto pct = addr.find('%'); pct != std::string::npos) addr.erase(pct);   // scope ids: not supported
        asio::error_code ec;
        asio::ip::make_address(addr, ec);
        if (!ec) out.push_back(config::Endpoint{addr, 53});
    }
    if (out.empty()) out.push_back(config::Endpoint{"127.0.0.1", 53});
    return out;
}

std::uint16_t random_id() {
    thread_local std::mt19937 dice{std::random_device{}()};
    return static_cast<std::uint16_t>(dice());
}

// The answer of `response` to the question (name, type): the records of `type` in the
// answer section (a CNAME chain's target included), classified.
Answer classify(const Response& response, std::uint16_t type) {
    Answer a;
    if (response.rcode == rcode::NxDomain) {
        a.status = RecordStatus::NxDomain;
        a.ttl = std::chrono::seconds(response.negative_ttl.value_or(0));
        return a;
    }
    std::optional<std::uint32_t> ttl;
    for (const ResourceRecord& r : response.answers) {
        if (r.type != type) continue;
        a.records.push_back(r);
        if (!ttl || r.ttl < *ttl) ttl = r.ttl;
    }
    if (a.records.empty()) {
        a.status = RecordStatus::NoData;
        a.ttl = std::chrono::seconds(response.negative_ttl.value_or(0));
    } else {
        a.status = RecordStatus::Found;
        a.ttl = std::chrono::seconds(*ttl);
    }
    return a;
}

}  // namespace

std::vector<MxHost> more_preferred_than_self(std::vector<MxHost> hosts, std::string_view self, bool& loops) {
    loops = false;
    std::string me = util::ascii_lower(self);
    while (!me.empty() && me.back() == '.') me.pop_back();
    std::optional<std::uint16_t> mine;
    for (const MxHost& h : hosts)
        if (h.name == me && (!mine || h.preference < *mine)) mine = h.preference;
    if (!mine) return hosts;
    std::erase_if(hosts, [&](const MxHost& h) { return h.preference >= *mine; });
    loops = hosts.empty();
    return hosts;
}

DnsResult<std::vector<MxHost>> order_mx(const std::string& domain, std::vector<MxHost> records) {
    bool null_mx = false;
    std::erase_if(records, [&](const MxHost& h) {
        if (h.name == "." || h.name.empty()) {
            null_mx = true;
            return true;
        }
        return false;
    });
    if (records.empty() && null_mx)
        return Failure{0, "domain " + domain + " does not accept mail (null MX, RFC 7505)", true, "5.1.10"};
    if (records.empty()) return Failure{0, "domain " + domain + " has no usable MX records", true, {}};
    std::stable_sort(records.begin(), records.end(),
                     [](const MxHost& a, const MxHost& b) { return a.preference < b.preference; });
    return records;
}

// ---- The resolver: cache, flights, exchanges ----

// One question being asked of the servers; callers asking the same question meanwhile wait
// on a timer of their own executor, cancelled (on that executor) when the answer is in.
struct Resolver::Flight {
    bool done = false;
    Answer answer;
    std::vector<std::shared_ptr<asio::steady_timer>> waiters;
};

struct Resolver::Impl {
    explicit Impl(std::size_t capacity) : cache(capacity) {}
    mutable std::mutex mu;
    AnswerCache cache;
    std::map<std::string, std::shared_ptr<Flight>> flights;
    Stats stats;
};

Resolver::Resolver(const config::DnsSettings& settings)
    : settings_(settings), servers_(settings.servers.empty() ? system_servers() : settings.servers),
      impl_(std::make_unique<Impl>(settings.cache_entries)) {}

Resolver::~Resolver() = default;

Resolver::Stats Resolver::stats() const {
    std::lock_guard lock(impl_->mu);
    return impl_->stats;
}

namespace {

// One exchange with one server: the query over UDP, and over TCP when the UDP answer is
// truncated. nullopt: no usable answer within the timeout (the caller tries the next).
using Exchange = std::optional<Response>;

asio::awaitable<Exchange> udp_exchange(asio::ip::udp::endpoint server, std::vector<std::uint8_t> query,
                                       std::uint16_t id, std::string name, std::uint16_t type) {
    asio::ip::udp::socket socket(co_await asio::this_coro::executor);
    co_await socket.async_connect(server, asio::use_awaitable);
    co_await socket.async_send(asio::buffer(query), asio::use_awaitable);
    std::array<std::uint8_t, 65535> buf;
    for (;;) {   // datagrams that are not the answer to this query are dropped
        std::size_t n = co_await socket.async_receive(asio::buffer(buf), asio::use_awaitable);
        auto r = decode_response(std::span<const std::uint8_t>(buf.data(), n));
        if (!r || r->id != id) continue;
        if (!r->truncated && (r->question != name || r->question_type != type)) continue;
        co_return std::move(*r);
    }
}

asio::awaitable<Exchange> tcp_exchange(asio::ip::tcp::endpoint server, std::vector<std::uint8_t> query,
                                       std::uint16_t id, std::string name, std::uint16_t type) {
    asio::ip::tcp::socket socket(co_await asio::this_coro::executor);
    co_await socket.async_connect(server, asio::use_awaitable);
    std::vector<std::uint8_t> framed(2 + query.size());
    framed[0] = static_cast<std::uint8_t>(query.size() >> 8);
    framed[1] = static_cast<std::uint8_t>(query.size() & 0xff);
    std::copy(query.begin(), query.end(), framed.begin() + 2);
    co_await asio::async_write(socket, asio::buffer(framed), asio::use_awaitable);
    std::array<std::uint8_t, 2> len;
    co_await asio::async_read(socket, asio::buffer(len), asio::use_awaitable);
    std::vector<std::uint8_t> buf(static_cast<std::size_t>((len[0] << 8) | len[1]));
    co_await asio::async_read(socket, asio::buffer(buf), asio::use_awaitable);
    auto r = decode_response(buf);
    if (!r || r->id != id || r->question != name || r->question_type != type) co_return std::nullopt;
    co_return std::move(*r);
}

// `exchange` bounded by `timeout`; a socket error or the timeout is no answer.
asio::awaitable<Exchange> bounded(asio::awaitable<Exchange> exchange, std::chrono::milliseconds timeout) {
    using namespace asio::experimental::awaitable_operators;
    try {
        asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
        asio::awaitable<void> deadline = timer.async_wait(asio::use_awaitable);
        auto race = std::move(exchange) || std::move(deadline);
        std::variant<Exchange, std::monostate> r = co_await std::move(race);
        if (r.index() == 0) co_return std::get<0>(std::move(r));
    } catch (const std::system_error&) {
    }
    co_return std::nullopt;
}

}  // namespace

asio::awaitable<Answer> Resolver::ask_servers(std::string name, std::uint16_t type) {
    Answer failed;
    failed.error = type_text(type) + " " + name + ": no answer (server failure or timeout)";
    std::chrono::milliseconds timeout = std::max(settings_.timeout, std::chrono::milliseconds(100));
    for (int attempt = 0; attempt < 2; ++attempt) {
        for (const config::Endpoint& e : servers_) {
            std::uint16_t id = random_id();
            auto query = encode_query(id, name, type);
            if (!query) {
                failed.error = type_text(type) + " " + name + ": " + query.error().message;
                co_return failed;
            }
            asio::error_code ec;
            asio::ip::address address = asio::ip::make_address(e.host, ec);
            if (ec) continue;
            {
                std::lock_guard lock(impl_->mu);
                ++impl_->stats.sent;
            }
            auto started = std::chrono::steady_clock::now();
            asio::awaitable<Exchange> udp = udp_exchange({address, e.port}, *query, id, name, type);
            Exchange r = co_await bounded(std::move(udp), timeout);
            if (r && r->truncated) {   // TCP within what remains of this try's timeout
                auto left = timeout - std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
                {
                    std::lock_guard lock(impl_->mu);
                    ++impl_->stats.sent;
                }
                asio::awaitable<Exchange> tcp = tcp_exchange({address, e.port}, *query, id, name, type);
                r = co_await bounded(std::move(tcp), std::max(left, std::chrono::milliseconds(1)));
            }
            if (!r) continue;
            if (r->rcode == rcode::NoError || r->rcode == rcode::NxDomain) co_return classify(*r, type);
            failed.error = type_text(type) + " " + name + ": " + e.text() + " answered rcode " + std::to_string(r->rcode) +
                           (r->rcode == rcode::ServFail ? " (server failure)" : r->rcode == rcode::Refused ? " (refused)" : "");
        }
    }
    co_return failed;
}

// Asks the servers for a flight, stores the answer, wakes the flight's waiters. Runs
// detached, so a waiter's cancellation never ends the query the others share.
asio::awaitable<void> Resolver::fly(std::shared_ptr<Flight> flight, std::string name, std::uint16_t type) {
    Answer a;
    try {
        // The socket's descriptor, from the budget; the wait is bounded by what one query
        // may take (every server twice), and running out of it is a failure like a timeout.
        net::DescriptorLease lease = net::DescriptorLease::unlimited();
        if (descriptors_)
            lease = co_await descriptors_->acquire(1, std::max(settings_.timeout, std::chrono::milliseconds(100)) * 2 *
                                                          static_cast<long>(servers_.size() + 1));
        if (!lease) {
            a.error = type_text(type) + " " + name + ": no descriptor free for a DNS query in time";
        } else {
            a = co_await ask_servers(name, type);
        }
    } catch (const std::exception& e) {
        a = Answer{};
        a.error = type_text(type) + " " + name + ": " + e.what();
    }
    std::lock_guard lock(impl_->mu);
    impl_->cache.put(std::to_string(type) + " " + name, a, AnswerCache::Clock::now());
    impl_->flights.erase(std::to_string(type) + " " + name);
    flight->done = true;
    flight->answer = std::move(a);
    for (const std::shared_ptr<asio::steady_timer>& t : flight->waiters)
        asio::post(t->get_executor(), [t] { t->cancel(); });
    flight->waiters.clear();
}

std::optional<Answer> Resolver::cached(std::string name, std::uint16_t type) {
    std::string key = std::to_string(type) + " " + strip_dot(util::ascii_lower(name));
    std::lock_guard lock(impl_->mu);
    return impl_->cache.get(key, AnswerCache::Clock::now());
}

asio::awaitable<Answer> Resolver::query(std::string name_in, std::uint16_t type) {
    std::string name = strip_dot(util::ascii_lower(name_in));
    std::string key = std::to_string(type) + " " + name;
    auto ex = co_await asio::this_coro::executor;
    // Long enough for the flight to try every server twice; the flight wakes us sooner.
    auto longest = std::max(settings_.timeout, std::chrono::milliseconds(100)) * 2 * static_cast<long>(servers_.size() + 1) +
                   std::chrono::seconds(1);
    auto timer = std::make_shared<asio::steady_timer>(ex, longest);
    std::shared_ptr<Flight> flight;
    bool start = false;
    {
        std::lock_guard lock(impl_->mu);
        if (auto hit = impl_->cache.get(key, AnswerCache::Clock::now())) {
            ++impl_->stats.cache_hits;
            co_return std::move(*hit);
        }
        auto it = impl_->flights.find(key);
        if (it == impl_->flights.end()) {
            flight = std::make_shared<Flight>();
            impl_->flights.emplace(key, flight);
            start = true;
        } else {
            flight = it->second;
            ++impl_->stats.joined;
        }
        flight->waiters.push_back(timer);
    }
    if (start) asio::co_spawn(ex, fly(flight, name, type), asio::detached);
    asio::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));   // cancelled when done
    {
        std::lock_guard lock(impl_->mu);
        if (flight->done) co_return flight->answer;
    }
    // Our own wait ended (cancelled by the caller's deadline, or the bound passed).
    Answer a;
    a.error = type_text(type) + " " + name + ": no answer in time";
    co_return a;
}

// ---- The look-ups, on query() ----

asio::awaitable<DnsResult<std::vector<std::string>>> Resolver::lookup_addresses(std::string host_in) {
    std::string host = strip_dot(util::ascii_lower(host_in));
    Answer q6 = co_await query(host, rr_type::AAAA);
    Answer q4 = co_await query(host, rr_type::A);
    std::vector<std::string> out;
    for (const ResourceRecord& r : q6.records) out.push_back(r.value);
    for (const ResourceRecord& r : q4.records) out.push_back(r.value);
    if (!out.empty()) co_return out;
    if (q4.status == RecordStatus::Temporary) co_return Failure{0, q4.error, false, {}};
    if (q6.status == RecordStatus::Temporary) co_return Failure{0, q6.error, false, {}};
    if (q4.status == RecordStatus::NxDomain || q6.status == RecordStatus::NxDomain)
        co_return Failure{0, "host " + host + " does not exist (NXDOMAIN)", true, {}};
    co_return Failure{0, "host " + host + " has no A or AAAA records", true, {}};
}

asio::awaitable<DnsResult<std::vector<MxHost>>> Resolver::lookup_mx(std::string domain_in) {
    std::string domain = strip_dot(util::ascii_lower(domain_in));
    Answer q = co_await query(domain, rr_type::MX);
    if (q.status == RecordStatus::NxDomain)
        co_return Failure{0, "domain " + domain + " does not exist (NXDOMAIN)", true, {}};
    if (q.status == RecordStatus::Temporary) co_return Failure{0, q.error, false, {}};
    if (q.status == RecordStatus::Found) {
        std::vector<MxHost> records;
        for (const ResourceRecord& r : q.records) records.push_back(MxHost{r.value, r.preference, {}});
        co_return order_mx(domain, std::move(records));
    }
    // No MX: the domain itself is the implicit MX (RFC 5321 §5.1) if it has addresses.
    auto addrs = co_await lookup_addresses(domain);
    if (!addrs) {
        Failure f = addrs.error();
        if (f.permanent) f.message = "domain " + domain + " has no MX and no A or AAAA records";
        co_return f;
    }
    co_return std::vector<MxHost>{MxHost{domain, 0, std::move(*addrs)}};
}

asio::awaitable<Records> Resolver::lookup_records(std::string name, RecordType type) {
    std::uint16_t code = rr_type::A;
    switch (type) {
        case RecordType::A: code = rr_type::A; break;
        case RecordType::Aaaa: code = rr_type::AAAA; break;
        case RecordType::Mx: code = rr_type::MX; break;
        case RecordType::Txt: code = rr_type::TXT; break;
        case RecordType::Ptr: code = rr_type::PTR; break;
    }
    Answer q = co_await query(std::move(name), code);
    Records out;
    out.status = q.status;
    out.error = std::move(q.error);
    if (q.status != RecordStatus::Found) co_return out;
    if (type == RecordType::Mx) {   // preference order, a null MX "." left out
        std::stable_sort(q.records.begin(), q.records.end(),
                         [](const ResourceRecord& a, const ResourceRecord& b) { return a.preference < b.preference; });
        std::erase_if(q.records, [](const ResourceRecord& r) { return r.value == "." || r.value.empty(); });
    }
    for (ResourceRecord& r : q.records)
        if (!r.value.empty()) out.values.push_back(std::move(r.value));
    out.status = out.values.empty() ? RecordStatus::NoData : RecordStatus::Found;
    co_return out;
}

// ---- DNS lists (RFC 5782): A records with their TTL ----

asio::awaitable<DnsResult<Resolver::AddressAnswer>> Resolver::lookup_a(std::string name) {
    Answer q = co_await query(std::move(name), rr_type::A);
    AddressAnswer out;
    if (q.status == RecordStatus::NxDomain || q.status == RecordStatus::NoData) co_return out;
    if (q.status == RecordStatus::Temporary) co_return Failure{0, q.error, false, {}};
    for (const ResourceRecord& r : q.records) out.addresses.push_back(r.value);
    out.exists = !out.addresses.empty();
    out.ttl = out.exists ? q.ttl : std::chrono::seconds(0);
    co_return out;
}

}  // namespace rampart::dns
