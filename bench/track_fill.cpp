// bench/track_fill.cpp — fills a tracking store with N events through tracking::Store::append
// (the recorder's own path: same schema, indexes and transactions) for bench/track.sh.
// Usage: track_fill FILE N. The mix, per message of 4 events: received (smtp.transaction,
// accepted), filter verdict, delivery attempt (delivered, 1 in 20 deferred then delivered
// later as another message's slot), and every 10th message a refused RCPT instead; senders
// from 5,000 addresses, recipients from 20,000, clients from 2,000, spread over 30 days.
// Prints the name of one sender, recipient and tracking id in the store, for the queries.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tracking/store.hpp"

using namespace rampart::tracking;

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: track_fill FILE N\n");
        return 2;
    }
    auto store = Store::open(argv[1], true);
    if (!store) {
        std::fprintf(stderr, "%s\n", store.error().message.c_str());
        return 1;
    }
    const long n = std::atol(argv[2]);
    const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch()).count();
    const std::int64_t span = 30LL * 24 * 3600 * 1000;
    std::uint64_t rng = 88172645463325252ULL;
    auto next = [&] {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
    };
    std::vector<Event> batch;
    long written = 0, msg = 0;
    auto t0 = std::chrono::steady_clock::now();
    while (written < n) {
        ++msg;
        std::int64_t ts = now - span + (span * msg) / (n / 4 + 1);
        std::string tid = "bench" + std::to_string(msg);
        std::string sender = "sender" + std::to_string(next() % 5000) + "@outside.test";
        std::string rcpt = "user" + std::to_string(next() % 20000) + "@example.test";
        std::string client = "10.0." + std::to_string(next() % 8) + "." + std::to_string(next() % 250);
        if (msg % 10 == 0) {
            Event e;
            e.ts_ms = ts, e.event = "smtp.rcpt.refused", e.tracking_id = tid, e.listener = "inbound", e.client = client;
            e.sender = sender, e.rcpts = "x" + rcpt, e.rule = "relay.list", e.code = 550, e.reason = "relaying denied";
            batch.push_back(e);
            Event t = e;
            t.ts_ms = ts + 5, t.event = "smtp.transaction", t.result = "abandoned", t.rule.clear();
            batch.push_back(t);
            written += 2;
        } else {
            std::string qid = "Q" + std::to_string(msg);
            Event r;
            r.ts_ms = ts, r.event = "smtp.transaction", r.tracking_id = tid, r.qid = qid, r.listener = "inbound";
            r.client = client, r.principal = "anonymous", r.sender = sender, r.rcpts = rcpt, r.size = 2000 + next() % 50000;
            r.result = "accepted", r.code = 250, r.reason = "250 2.0.0 Ok: queued as " + qid;
            Event f = r;
            f.ts_ms = ts - 2, f.event = "filter.verdict", f.qid.clear(), f.agent = "content_filter", f.stage = "data";
            f.result = "quarantine", f.reason = "SCL 3", f.code = 0;
            Event d;
            d.ts_ms = ts + 40, d.event = "delivery.attempt", d.qid = qid, d.sender = sender, d.rcpts = rcpt;
            d.relay = "maildir", d.result = next() % 20 == 0 ? "deferred" : "delivered", d.code = 250;
            Event d2 = d;
            d2.ts_ms = ts + 60000, d2.result = "delivered";
            for (Event* e : {&f, &r, &d, &d2}) batch.push_back(*e);
            written += 4;
        }
        if (batch.size() >= 5000) {
            if (auto res = store->append(batch); !res) {
                std::fprintf(stderr, "%s\n", res.error().message.c_str());
                return 1;
            }
            batch.clear();
        }
    }
    if (!batch.empty()) (void)store->append(batch);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("events %ld messages %ld seconds %.1f rate %.0f/s bytes %llu\n", written, msg, s, written / s,
                static_cast<unsigned long long>(store->data_bytes()));
    std::printf("probe sender sender42@outside.test recipient user4242@example.test id bench%ld qid Q%ld\n", msg / 2,
                msg / 2 + (msg / 2 % 10 == 0 ? 1 : 0));
    return 0;
}
