// tracking/store.cpp — the SQLite tracking store (see store.hpp).
#include "tracking/store.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <unordered_map>
#include <utility>
#include <variant>

#include "util/text.hpp"

namespace rampart::tracking {
namespace {

// One prepared statement, finalized on scope exit.
class Stmt {
public:
    Stmt(sqlite3* db, const char* sql) { ok_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) == SQLITE_OK; }
    ~Stmt() { sqlite3_finalize(s_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    bool ok() const { return ok_; }
    // The text is not copied (SQLITE_STATIC: a copy and a malloc per value were a fifth of
    // the writer's cost): it must stay put until the statement has been stepped. Every use
    // here binds every parameter before each step, so a reset needs no clear_bindings.
    Stmt& bind(int i, std::string_view v) {
        sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
        return *this;
    }
    Stmt& bind(int i, std::int64_t v) {
        sqlite3_bind_int64(s_, i, v);
        return *this;
    }
    int step() { return sqlite3_step(s_); }
    void reset() { sqlite3_reset(s_); }
    std::string text(int i) const {
        const unsigned char* p = sqlite3_column_text(s_, i);
        return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(s_, i))) : std::string();
    }
    std::int64_t integer(int i) const { return sqlite3_column_int64(s_, i); }

private:
    sqlite3_stmt* s_ = nullptr;
    bool ok_ = false;
};

Error db_error(sqlite3* db, std::string_view what) {
    return Error{0, "tracking store: " + std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "out of memory")};
}

Result<Ok> exec(sqlite3* db, const char* sql) {
    char* msg = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
        Error e{0, std::string("tracking store: ") + (msg ? msg : "error") + " (" + sql + ")"};
        sqlite3_free(msg);
        return e;
    }
    return Ok{};
}

std::int64_t pragma_int(sqlite3* db, const char* sql) {
    Stmt s(db, sql);
    return s.ok() && s.step() == SQLITE_ROW ? s.integer(0) : 0;
}

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, event TEXT NOT NULL, tracking_id TEXT NOT NULL,
    qid TEXT, listener TEXT, client TEXT, principal TEXT, sender TEXT, rcpts TEXT, agent TEXT,
    stage TEXT, rule TEXT, result TEXT, code INTEGER, status TEXT, reason TEXT, relay TEXT,
    size INTEGER, extra TEXT);
-- Events are rotated in rowid order (they arrive in time order), so no index on ts: each
-- index is one more B-tree written per event.
CREATE INDEX IF NOT EXISTS events_tracking_id ON events(tracking_id, ts);
CREATE TABLE IF NOT EXISTS messages (
    tracking_id TEXT PRIMARY KEY, first_ts INTEGER NOT NULL, last_ts INTEGER NOT NULL,
    sender TEXT NOT NULL DEFAULT '', client TEXT NOT NULL DEFAULT '', status INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_first_ts ON messages(first_ts);
CREATE INDEX IF NOT EXISTS messages_last_ts ON messages(last_ts);
CREATE INDEX IF NOT EXISTS messages_sender ON messages(sender, first_ts);
CREATE INDEX IF NOT EXISTS messages_client ON messages(client, first_ts);
-- One partial index per status bit: `--status` of a rare state reads only its messages.
CREATE INDEX IF NOT EXISTS messages_refused ON messages(first_ts) WHERE (status & 1) != 0;
CREATE INDEX IF NOT EXISTS messages_quarantined ON messages(first_ts) WHERE (status & 2) != 0;
CREATE INDEX IF NOT EXISTS messages_delivered ON messages(first_ts) WHERE (status & 4) != 0;
CREATE INDEX IF NOT EXISTS messages_deferred ON messages(first_ts) WHERE (status & 8) != 0;
CREATE INDEX IF NOT EXISTS messages_bounced ON messages(first_ts) WHERE (status & 16) != 0;
CREATE TABLE IF NOT EXISTS qids (qid TEXT PRIMARY KEY, tracking_id TEXT NOT NULL, report INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rcpts (address TEXT NOT NULL, tracking_id TEXT NOT NULL,
    PRIMARY KEY (address, tracking_id)) WITHOUT ROWID;
-- Indexes that stores of earlier versions have and no query reads (rotation scans these tables).
DROP INDEX IF EXISTS events_ts;
DROP INDEX IF EXISTS qids_tracking_id;
DROP INDEX IF EXISTS rcpts_tracking_id;
)";

// The status bits an event sets and clears.
std::pair<int, int> status_change(const Event& e) {
    const std::string& n = e.event;
    if (n == "smtp.connection.refused" || n == "smtp.mail.refused" || n == "smtp.rcpt.refused") return {Refused, 0};
    if (n == "smtp.transaction") return {e.result == "refused" || e.result == "deferred" ? Refused : 0, 0};
    if (n == "filter.verdict") return {e.result == "refuse" || e.result == "tempfail" ? Refused : 0, 0};
    if (n == "quarantine.added") return {Quarantined, 0};
    if (n == "quarantine.released") return {0, Quarantined};
    if (n == "delivery.attempt") {
        if (e.result == "delivered") return {Delivered, Deferred};
        if (e.result == "deferred") return {Deferred, 0};
        if (e.result == "failed") return {Bounced, Deferred};
    }
    if (n == "queue.failed") return {Bounced, Deferred};
    return {0, 0};
}

}  // namespace

int status_bit(std::string_view name) {
    if (name == "refused") return Refused;
    if (name == "quarantined") return Quarantined;
    if (name == "delivered") return Delivered;
    if (name == "deferred") return Deferred;
    if (name == "bounced") return Bounced;
    return 0;
}

std::string status_names(int bits) {
    std::string out;
    for (auto [bit, name] : {std::pair{Refused, "refused"}, {Quarantined, "quarantined"}, {Delivered, "delivered"},
                             {Deferred, "deferred"}, {Bounced, "bounced"}})
        if (bits & bit) out += (out.empty() ? "" : ",") + std::string(name);
    return out.empty() ? "received" : out;
}

Store::~Store() {
    if (db_) sqlite3_close(db_);
}
Store::Store(Store&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
Store& Store::operator=(Store&& o) noexcept {
    if (this != &o) {
        if (db_) sqlite3_close(db_);
        db_ = std::exchange(o.db_, nullptr);
    }
    return *this;
}

Result<Store> Store::open(const std::filesystem::path& file, bool create) {
    // Addresses and reasons are the server's business: 0600 like the spool (SQLite would
    // create 0644; its -wal and -shm files take the database file's mode).
    if (create) {
        int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) return errno_error(errno, "tracking store: cannot create " + file.string());
        ::close(fd);
    }
    sqlite3* db = nullptr;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(file.c_str(), &db, flags, nullptr) != SQLITE_OK) {
        Error e = db_error(db, "cannot open " + file.string());
        sqlite3_close(db);
        return e;
    }
    Store s(db);
    sqlite3_busy_timeout(db, 5000);   // the writer's transaction is short; a reader waits for it
    // auto_vacuum must be chosen before the first table: freed pages can then go back.
    for (const char* sql : {"PRAGMA auto_vacuum = INCREMENTAL", "PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL"})
        if (auto r = exec(db, sql); !r && create) return r.error();
    if (create)
        if (auto r = exec(db, kSchema); !r) return r.error();
    return s;
}

Result<Ok> Store::append(std::vector<Event>& batch) {
    if (auto r = exec(db_, "BEGIN IMMEDIATE"); !r) return r;
    Stmt lookup(db_, "SELECT tracking_id, report FROM qids WHERE qid = ?1");
    Stmt add_qid(db_, "INSERT OR IGNORE INTO qids(qid, tracking_id, report) VALUES (?1, ?2, ?3)");
    Stmt add_event(db_, "INSERT INTO events(ts, event, tracking_id, qid, listener, client, principal, sender, rcpts, agent, "
                        "stage, rule, result, code, status, reason, relay, size, extra) "
                        "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19)");
    Stmt upsert(db_, "INSERT INTO messages(tracking_id, first_ts, last_ts, sender, client, status) VALUES (?1, ?2, ?7, ?3, ?4, ?5) "
                     "ON CONFLICT(tracking_id) DO UPDATE SET first_ts = min(first_ts, excluded.first_ts), "
                     "last_ts = max(last_ts, excluded.last_ts), "
                     "sender = CASE WHEN sender = '' THEN excluded.sender ELSE sender END, "
                     "client = CASE WHEN client = '' THEN excluded.client ELSE client END, "
                     "status = (status & ~?6) | ?5");
    Stmt add_rcpt(db_, "INSERT OR IGNORE INTO rcpts(address, tracking_id) VALUES (?1, ?2)");
    if (!lookup.ok() || !add_qid.ok() || !add_event.ok() || !upsert.ok() || !add_rcpt.ok()) {
        Error e = db_error(db_, "prepare");
        (void)exec(db_, "ROLLBACK");
        return e;
    }
    auto run = [&](Stmt& s) {
        int rc = s.step();
        s.reset();
        return rc == SQLITE_DONE || rc == SQLITE_ROW;
    };
    // The messages row of each tracking id is written once per batch, not once per event
    // (issue 13: its nine indexes made that upsert most of the writer's cost): the batch's
    // events of one message are folded in order: earliest and latest time, first sender
    // and client, and status changes composed ((s & ~c1 | s1) & ~c2 | s2 = s & ~(c1|c2) |
    // (s1 & ~c2) | s2).
    struct Row {
        std::int64_t first_ts, last_ts;
        std::string sender, client;
        int set = 0, clear = 0;
    };
    std::vector<std::pair<std::string, Row>> rows;   // in order of first appearance
    std::unordered_map<std::string, std::size_t> row_of;
    bool ok = true;
    for (Event& e : batch) {
        if (e.tracking_id.empty() && !e.qid.empty()) {
            lookup.bind(1, e.qid);
            if (lookup.step() == SQLITE_ROW) {
                e.tracking_id = lookup.text(0);
                if (lookup.integer(1)) e.extra = "report";   // the report's own event: no status of the message
            } else e.tracking_id = "qid:" + e.qid;
            lookup.reset();
        } else if (!e.qid.empty()) {
            ok = ok && run(add_qid.bind(1, e.qid).bind(2, e.tracking_id).bind(3, std::int64_t{0}));
        }
        if (e.tracking_id.empty()) continue;   // nothing to file it under
        if (e.event == "dsn.queued" && !e.extra.empty()) ok = ok && run(add_qid.bind(1, e.extra).bind(2, e.tracking_id).bind(3, std::int64_t{1}));
        add_event.bind(1, e.ts_ms).bind(2, e.event).bind(3, e.tracking_id).bind(4, e.qid).bind(5, e.listener).bind(6, e.client);
        add_event.bind(7, e.principal).bind(8, e.sender).bind(9, e.rcpts).bind(10, e.agent).bind(11, e.stage).bind(12, e.rule);
        add_event.bind(13, e.result).bind(14, std::int64_t{e.code}).bind(15, e.status).bind(16, e.reason).bind(17, e.relay);
        add_event.bind(18, static_cast<std::int64_t>(e.size)).bind(19, e.extra);
        ok = ok && run(add_event);
        auto [set, clear] = e.extra == "report" ? std::pair{0, 0} : status_change(e);
        auto [at, fresh] = row_of.try_emplace(e.tracking_id, rows.size());
        if (fresh) rows.emplace_back(e.tracking_id, Row{e.ts_ms, e.ts_ms, util::ascii_lower(e.sender), e.client, set, clear});
        else {
            Row& r = rows[at->second].second;
            r.first_ts = std::min(r.first_ts, e.ts_ms);
            r.last_ts = std::max(r.last_ts, e.ts_ms);
            if (r.sender.empty()) r.sender = util::ascii_lower(e.sender);
            if (r.client.empty()) r.client = e.client;
            r.set = (r.set & ~clear) | set;
            r.clear |= clear;
        }
        if (e.event.starts_with("smtp.")) {
            std::size_t pos = 0;
            while (pos <= e.rcpts.size() && !e.rcpts.empty()) {
                std::size_t comma = e.rcpts.find(',', pos);
                std::string a = e.rcpts.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
                if (!a.empty()) ok = ok && run(add_rcpt.bind(1, util::ascii_lower(a)).bind(2, e.tracking_id));
                if (comma == std::string::npos) break;
                pos = comma + 1;
            }
        }
        if (!ok) break;
    }
    for (const auto& [id, r] : rows) {
        if (!ok) break;
        upsert.bind(1, id).bind(2, r.first_ts).bind(7, r.last_ts).bind(3, r.sender).bind(4, r.client);
        upsert.bind(5, std::int64_t{r.set}).bind(6, std::int64_t{r.clear});
        ok = run(upsert);
    }
    if (!ok) {
        Error e = db_error(db_, "append");
        (void)exec(db_, "ROLLBACK");
        return e;
    }
    return exec(db_, "COMMIT");
}

std::uint64_t Store::data_bytes() {
    std::int64_t pages = pragma_int(db_, "PRAGMA page_count") - pragma_int(db_, "PRAGMA freelist_count");
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, pages) * pragma_int(db_, "PRAGMA page_size"));
}

Result<Ok> Store::leave_checkpoints_to_another() { return exec(db_, "PRAGMA wal_autocheckpoint = 0"); }

Result<Store::CheckpointResult> Store::checkpoint() {
    CheckpointResult r;
    int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &r.wal_frames, &r.checkpointed);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) return db_error(db_, "checkpoint");
    return r;
}

std::uint64_t Store::event_count() { return static_cast<std::uint64_t>(pragma_int(db_, "SELECT count(*) FROM events")); }

Result<std::uint64_t> Store::rotate(std::int64_t now_ms, std::int64_t max_age_ms, std::uint64_t max_size) {
    std::uint64_t deleted = 0;
    // Events go in rowid order up to the first one at or after the cutoff: they are appended
    // in time order, give or take the moments between a thread's event and the writer's
    // batch, so an event is never removed before its time, at worst one rotation late.
    auto delete_before = [&](std::int64_t cutoff) -> Result<Ok> {
        if (auto r = exec(db_, "BEGIN IMMEDIATE"); !r) return r;
        Stmt ev(db_, "DELETE FROM events WHERE id < coalesce((SELECT id FROM events WHERE ts >= ?1 ORDER BY id LIMIT 1), "
                     "(SELECT max(id) + 1 FROM events))");
        Stmt msg(db_, "DELETE FROM messages WHERE last_ts < ?1");
        if (!ev.ok() || !msg.ok()) {
            (void)exec(db_, "ROLLBACK");
            return db_error(db_, "rotate");
        }
        ev.bind(1, cutoff).step();
        deleted += static_cast<std::uint64_t>(sqlite3_changes(db_));
        msg.bind(1, cutoff).step();
        for (const char* sql : {"DELETE FROM rcpts WHERE tracking_id NOT IN (SELECT tracking_id FROM messages)",
                                "DELETE FROM qids WHERE tracking_id NOT IN (SELECT tracking_id FROM messages)"})
            if (auto r = exec(db_, sql); !r) {
                (void)exec(db_, "ROLLBACK");
                return r;
            }
        return exec(db_, "COMMIT");
    };
    if (max_age_ms > 0)
        if (auto r = delete_before(now_ms - max_age_ms); !r) return r.error();
    // Oldest quarter of what is left at a time, a few rounds at most (index pages do not
    // shrink exactly with the rows they point to).
    for (int round = 0; max_size > 0 && round < 8 && data_bytes() > max_size; ++round) {
        std::int64_t n = static_cast<std::int64_t>(event_count());
        if (n == 0) break;
        Stmt at(db_, "SELECT ts FROM events ORDER BY id LIMIT 1 OFFSET ?1");
        at.bind(1, std::max<std::int64_t>(1, n / 4));
        std::int64_t cutoff = at.step() == SQLITE_ROW ? at.integer(0) : now_ms + 1;
        // Past the oldest event's time at least, so that every round removes something.
        std::int64_t oldest = pragma_int(db_, "SELECT ts FROM events ORDER BY id LIMIT 1");
        if (auto r = delete_before(std::max(cutoff, oldest + 1)); !r) return r.error();
    }
    if (deleted > 0) (void)exec(db_, "PRAGMA incremental_vacuum");
    return deleted;
}

Result<std::vector<Message>> Store::find(const Query& q) {
    std::string sql = "SELECT tracking_id, status FROM messages WHERE 1";
    std::vector<std::pair<int, std::variant<std::string, std::int64_t>>> binds;
    int n = 0;
    auto text = [&](std::string v) {
        binds.emplace_back(++n, std::move(v));
        return "?" + std::to_string(n);
    };
    auto num = [&](std::int64_t v) {
        binds.emplace_back(++n, v);
        return "?" + std::to_string(n);
    };
    if (!q.id.empty()) {
        std::string p = text(q.id);
        sql += " AND tracking_id IN (SELECT " + p + " UNION SELECT tracking_id FROM qids WHERE qid = " + p + ")";
    }
    if (!q.sender.empty()) sql += " AND sender = " + text(util::ascii_lower(q.sender));
    if (!q.client.empty()) sql += " AND client = " + text(q.client);
    if (!q.recipient.empty())
        sql += " AND tracking_id IN (SELECT tracking_id FROM rcpts WHERE address = " + text(util::ascii_lower(q.recipient)) + ")";
    if (q.since_ms) sql += " AND last_ts >= " + num(*q.since_ms);
    if (q.until_ms) sql += " AND first_ts <= " + num(*q.until_ms);
    // The bit as a literal (one of StatusBit, not text from outside): the partial index
    // for it matches only the same expression.
    if (q.status) sql += " AND (status & " + std::to_string(q.status) + ") != 0";
    sql += " ORDER BY first_ts DESC LIMIT " + num(static_cast<std::int64_t>(q.limit));
    Stmt s(db_, sql.c_str());
    if (!s.ok()) return db_error(db_, "query");
    for (auto& [i, v] : binds) {
        if (auto* t = std::get_if<std::string>(&v)) s.bind(i, *t);
        else s.bind(i, std::get<std::int64_t>(v));
    }
    std::vector<Message> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(Message{s.text(0), static_cast<int>(s.integer(1)), {}});
    if (rc != SQLITE_DONE) return db_error(db_, "query");
    Stmt ev(db_, "SELECT ts, event, tracking_id, qid, listener, client, principal, sender, rcpts, agent, stage, rule, result, "
                 "code, status, reason, relay, size, extra FROM events WHERE tracking_id = ?1 ORDER BY ts, id");
    if (!ev.ok()) return db_error(db_, "query");
    for (Message& m : out) {
        ev.bind(1, m.tracking_id);
        while (ev.step() == SQLITE_ROW) {
            Event e;
            e.ts_ms = ev.integer(0);
            e.event = ev.text(1);
            e.tracking_id = ev.text(2);
            e.qid = ev.text(3);
            e.listener = ev.text(4);
            e.client = ev.text(5);
            e.principal = ev.text(6);
            e.sender = ev.text(7);
            e.rcpts = ev.text(8);
            e.agent = ev.text(9);
            e.stage = ev.text(10);
            e.rule = ev.text(11);
            e.result = ev.text(12);
            e.code = static_cast<int>(ev.integer(13));
            e.status = ev.text(14);
            e.reason = ev.text(15);
            e.relay = ev.text(16);
            e.size = static_cast<std::uint64_t>(ev.integer(17));
            e.extra = ev.text(18);
            m.events.push_back(std::move(e));
        }
        ev.reset();
    }
    return out;
}

}  // namespace rampart::tracking
