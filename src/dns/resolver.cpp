// dns/resolver.cpp — libresolv queries on a private thread pool. One res_state per query
// (res_ninit/res_nclose), so the worker threads share nothing.
#include "dns/resolver.hpp"
#include "util/text.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>

#include <asio/co_spawn.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>

namespace rampart::dns {
namespace {

enum class Outcome { Found, NoData, NxDomain, Temporary };

struct Answer {
    Outcome outcome = Outcome::Temporary;
    std::vector<unsigned char> message;   // the whole DNS message when Found
    int h_errno_value = 0;
    std::string error;                    // when Temporary
};

std::string strip_dot(std::string s) {
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
}

std::string type_name(int type) {
    switch (type) {
        case ns_t_mx: return "MX";
        case ns_t_a: return "A";
        case ns_t_aaaa: return "AAAA";
        default: return std::to_string(type);
    }
}

// One query with a fresh resolver state. `name` is queried as an absolute name.
Answer query(const config::DnsSettings& s, const std::string& name, int type) {
    Answer a;
    struct __res_state st;
    std::memset(&st, 0, sizeof st);
    if (res_ninit(&st) != 0) {
        a.error = "res_ninit failed (cannot read the resolver configuration)";
        res_nclose(&st);
        return a;
    }
    auto secs = std::chrono::ceil<std::chrono::seconds>(s.timeout).count();
    st.retrans = static_cast<int>(std::clamp<long long>(secs, 1, 3600));
    st.retry = 2;
    st.options &= ~static_cast<unsigned long>(RES_DNSRCH | RES_DEFNAMES);
    if (!s.servers.empty()) {
        int n = 0;
        for (const config::Endpoint& e : s.servers) {
            if (n >= MAXNS) break;
            sockaddr_in sin{};
            sin.sin_family = AF_INET;
            sin.sin_port = htons(e.port);
            if (inet_pton(AF_INET, e.host.c_str(), &sin.sin_addr) != 1) continue;  // IPv4 only (checked at load)
            st.nsaddr_list[n++] = sin;
        }
        st.nscount = n;
    }
    std::vector<unsigned char> buf(65536);
    std::string qname = strip_dot(name) + ".";
    int len = res_nquery(&st, qname.c_str(), ns_c_in, type, buf.data(), static_cast<int>(buf.size()));
    int herr = st.res_h_errno;
    res_nclose(&st);
    if (len >= 0) {
        buf.resize(std::min<std::size_t>(static_cast<std::size_t>(len), buf.size()));
        a.outcome = Outcome::Found;
        a.message = std::move(buf);
        return a;
    }
    a.h_errno_value = herr;
    switch (herr) {
        case HOST_NOT_FOUND: a.outcome = Outcome::NxDomain; break;
        case NO_DATA: a.outcome = Outcome::NoData; break;
        case TRY_AGAIN:
            a.error = type_name(type) + " " + strip_dot(name) + ": no answer (server failure or timeout)";
            break;
        default:
            a.error = type_name(type) + " " + strip_dot(name) + ": query refused or failed (" + hstrerror(herr) + ")";
            break;
    }
    return a;
}

// Records of `type` in the answer section. Malformed records are skipped.
template <class F>
bool for_each_answer(const std::vector<unsigned char>& m, int type, F f) {
    ns_msg msg;
    if (ns_initparse(m.data(), static_cast<int>(m.size()), &msg) < 0) return false;
    int count = ns_msg_count(msg, ns_s_an);
    for (int i = 0; i < count; ++i) {
        ns_rr rr;
        if (ns_parserr(&msg, ns_s_an, i, &rr) < 0) return true;   // truncated from here on
        if (ns_rr_type(rr) != type || ns_rr_class(rr) != ns_c_in) continue;
        f(msg, rr);
    }
    return true;
}

std::vector<MxHost> parse_mx(const std::vector<unsigned char>& m) {
    std::vector<MxHost> out;
    for_each_answer(m, ns_t_mx, [&](const ns_msg& msg, const ns_rr& rr) {
        if (ns_rr_rdlen(rr) < 3) return;
        const unsigned char* rd = ns_rr_rdata(rr);
        char name[NS_MAXDNAME];
        if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), rd + 2, name, sizeof name) < 0) return;
        std::string n = util::ascii_lower(name);
        out.push_back(MxHost{n.empty() ? std::string(".") : strip_dot(n), static_cast<std::uint16_t>(ns_get16(rd)), {}});
    });
    return out;
}

std::vector<std::string> parse_addresses(const std::vector<unsigned char>& m, int type) {
    std::vector<std::string> out;
    for_each_answer(m, type, [&](const ns_msg&, const ns_rr& rr) {
        char text[INET6_ADDRSTRLEN];
        if (type == ns_t_a && ns_rr_rdlen(rr) == 4 && inet_ntop(AF_INET, ns_rr_rdata(rr), text, sizeof text))
            out.emplace_back(text);
        if (type == ns_t_aaaa && ns_rr_rdlen(rr) == 16 && inet_ntop(AF_INET6, ns_rr_rdata(rr), text, sizeof text))
            out.emplace_back(text);
    });
    return out;
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

Resolver::Resolver(const config::DnsSettings& settings)
    : settings_(settings), pool_(std::make_unique<asio::thread_pool>(2)) {}

Resolver::~Resolver() {
    pool_->join();
}

DnsResult<std::vector<std::string>> Resolver::lookup_addresses_blocking(const std::string& host) const {
    Answer q6 = query(settings_, host, ns_t_aaaa);
    Answer q4 = query(settings_, host, ns_t_a);
    std::vector<std::string> out;
    if (q6.outcome == Outcome::Found) out = parse_addresses(q6.message, ns_t_aaaa);
    if (q4.outcome == Outcome::Found)
        for (std::string& a : parse_addresses(q4.message, ns_t_a)) out.push_back(std::move(a));
    if (!out.empty()) return out;
    if (q4.outcome == Outcome::Temporary) return Failure{q4.h_errno_value, q4.error, false, {}};
    if (q6.outcome == Outcome::Temporary) return Failure{q6.h_errno_value, q6.error, false, {}};
    if (q4.outcome == Outcome::NxDomain || q6.outcome == Outcome::NxDomain)
        return Failure{HOST_NOT_FOUND, "host " + strip_dot(host) + " does not exist (NXDOMAIN)", true, {}};
    return Failure{NO_DATA, "host " + strip_dot(host) + " has no A or AAAA records", true, {}};
}

DnsResult<std::vector<MxHost>> Resolver::lookup_mx_blocking(const std::string& domain_in) const {
    std::string domain = strip_dot(util::ascii_lower(domain_in));
    Answer q = query(settings_, domain, ns_t_mx);
    if (q.outcome == Outcome::NxDomain)
        return Failure{HOST_NOT_FOUND, "domain " + domain + " does not exist (NXDOMAIN)", true, {}};
    if (q.outcome == Outcome::Temporary) return Failure{q.h_errno_value, q.error, false, {}};
    if (q.outcome == Outcome::Found) {
        std::vector<MxHost> records = parse_mx(q.message);
        if (!records.empty()) return order_mx(domain, std::move(records));
    }
    // No MX: the domain itself is the implicit MX (RFC 5321 §5.1) if it has addresses.
    auto addrs = lookup_addresses_blocking(domain);
    if (!addrs) {
        Failure f = addrs.error();
        if (f.permanent) f.message = "domain " + domain + " has no MX and no A or AAAA records";
        return f;
    }
    return std::vector<MxHost>{MxHost{domain, 0, std::move(*addrs)}};
}

// Plain coroutine functions, not capturing lambdas: GCC 12 destroys the captures of a
// lambda coroutine handed to co_spawn twice.
namespace {
asio::awaitable<DnsResult<std::vector<MxHost>>> run_mx(const Resolver* r, std::string domain) {
    co_return r->lookup_mx_blocking(domain);
}
asio::awaitable<DnsResult<std::vector<std::string>>> run_addresses(const Resolver* r, std::string host) {
    co_return r->lookup_addresses_blocking(host);
}
}  // namespace

asio::awaitable<DnsResult<std::vector<MxHost>>> Resolver::lookup_mx(std::string domain) {
    co_return co_await asio::co_spawn(pool_->get_executor(), run_mx(this, std::move(domain)), asio::use_awaitable);
}

asio::awaitable<DnsResult<std::vector<std::string>>> Resolver::lookup_addresses(std::string host) {
    co_return co_await asio::co_spawn(pool_->get_executor(), run_addresses(this, std::move(host)), asio::use_awaitable);
}

// --- Record look-ups for sender authentication (see Records in resolver.hpp) ---
namespace {

int record_type_code(RecordType t) {
    switch (t) {
        case RecordType::A: return ns_t_a;
        case RecordType::Aaaa: return ns_t_aaaa;
        case RecordType::Mx: return ns_t_mx;
        case RecordType::Txt: return ns_t_txt;
        case RecordType::Ptr: return ns_t_ptr;
    }
    return ns_t_a;
}

std::string_view record_type_name(RecordType t) {
    switch (t) {
        case RecordType::A: return "A";
        case RecordType::Aaaa: return "AAAA";
        case RecordType::Mx: return "MX";
        case RecordType::Txt: return "TXT";
        case RecordType::Ptr: return "PTR";
    }
    return "?";
}

// TXT RDATA: one or more <length><bytes> character-strings, concatenated without
// separators (RFC 7208 §3.3). A length running past the RDATA makes the record malformed.
std::optional<std::string> txt_text(const ns_rr& rr) {
    const unsigned char* p = ns_rr_rdata(rr);
    const unsigned char* end = p + ns_rr_rdlen(rr);
    std::string out;
    while (p < end) {
        std::size_t n = *p++;
        if (static_cast<std::size_t>(end - p) < n) return std::nullopt;
        out.append(reinterpret_cast<const char*>(p), n);
        p += n;
    }
    return out;
}

asio::awaitable<Records> run_records(const Resolver* r, std::string name, RecordType type) {
    co_return r->lookup_records_blocking(name, type);
}

}  // namespace

Records Resolver::lookup_records_blocking(const std::string& name, RecordType type) const {
    Records out;
    int code = record_type_code(type);
    Answer q = query(settings_, name, code);
    switch (q.outcome) {
        case Outcome::NxDomain: out.status = RecordStatus::NxDomain; return out;
        case Outcome::NoData: out.status = RecordStatus::NoData; return out;
        case Outcome::Temporary:
            out.error = std::string(record_type_name(type)) + " " + strip_dot(name) + ": " +
                        (q.h_errno_value == TRY_AGAIN ? "no answer (server failure or timeout)" : "query refused or failed");
            return out;
        case Outcome::Found: break;
    }
    switch (type) {
        case RecordType::A:
        case RecordType::Aaaa: out.values = parse_addresses(q.message, code); break;
        case RecordType::Mx: {
            std::vector<MxHost> hosts = parse_mx(q.message);   // answer order; preference order wanted
            std::erase_if(hosts, [](const MxHost& h) { return h.name == "." || h.name.empty(); });
            std::stable_sort(hosts.begin(), hosts.end(),
                             [](const MxHost& a, const MxHost& b) { return a.preference < b.preference; });
            for (MxHost& h : hosts) out.values.push_back(std::move(h.name));
            break;
        }
        case RecordType::Txt:
            for_each_answer(q.message, code, [&](const ns_msg&, const ns_rr& rr) {
                if (auto t = txt_text(rr)) out.values.push_back(std::move(*t));
            });
            break;
        case RecordType::Ptr:
            for_each_answer(q.message, code, [&](const ns_msg& msg, const ns_rr& rr) {
                char host[NS_MAXDNAME];
                if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr), host, sizeof host) < 0) return;
                std::string h = strip_dot(util::ascii_lower(host));
                if (!h.empty()) out.values.push_back(std::move(h));
            });
            break;
    }
    out.status = out.values.empty() ? RecordStatus::NoData : RecordStatus::Found;
    return out;
}

asio::awaitable<Records> Resolver::lookup_records(std::string name, RecordType type) {
    co_return co_await asio::co_spawn(pool_->get_executor(), run_records(this, std::move(name), type), asio::use_awaitable);
}

// ---- DNS lists (RFC 5782): A records with their TTL ----

namespace {
asio::awaitable<DnsResult<Resolver::AddressAnswer>> run_a(const Resolver* r, std::string name) {
    co_return r->lookup_a_blocking(name);
}
}  // namespace

DnsResult<Resolver::AddressAnswer> Resolver::lookup_a_blocking(const std::string& name) const {
    Answer q = query(settings_, name, ns_t_a);
    AddressAnswer out;
    if (q.outcome == Outcome::NxDomain || q.outcome == Outcome::NoData) return out;
    if (q.outcome == Outcome::Temporary) return Failure{q.h_errno_value, q.error, false, {}};
    std::optional<std::uint32_t> ttl;
    for_each_answer(q.message, ns_t_a, [&](const ns_msg&, const ns_rr& rr) {
        char text[INET_ADDRSTRLEN];
        if (ns_rr_rdlen(rr) != 4 || !inet_ntop(AF_INET, ns_rr_rdata(rr), text, sizeof text)) return;
        out.addresses.emplace_back(text);
        std::uint32_t t = ns_rr_ttl(rr);
        if (!ttl || t < *ttl) ttl = t;
    });
    out.exists = !out.addresses.empty();
    out.ttl = std::chrono::seconds(ttl.value_or(0));
    return out;
}

asio::awaitable<DnsResult<Resolver::AddressAnswer>> Resolver::lookup_a(std::string name) {
    co_return co_await asio::co_spawn(pool_->get_executor(), run_a(this, std::move(name)), asio::use_awaitable);
}

}  // namespace rampart::dns
