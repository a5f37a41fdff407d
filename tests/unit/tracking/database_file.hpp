// tests/unit/tracking/database_file.hpp — what the tracking store's database file itself
// holds, as a reader that ignores the WAL sees it: shows whether a checkpoint copied the
// WAL into it.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <string>

// Events in the database file (-1: the file has no events table yet).
inline std::int64_t events_in_database_file(const std::filesystem::path& file) {
    sqlite3* db = nullptr;
    std::string uri = "file:" + file.string() + "?immutable=1";
    std::int64_t n = -1;
    if (sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) == SQLITE_OK) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(db, "SELECT count(*) FROM events", -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
}
