-- Schema v1 for SQLite. Keep it equivalent to ../postgres/00001_rooms_and_sessions.sql:
-- the same store code and test suite run against both.
--
-- Conventions (see the package doc in internal/store/store.go):
--   * instants are INTEGER microseconds since the Unix epoch (UTC), NULL = unset;
--   * lists are JSON text ('[]' when empty);
--   * STRICT tables, so a wrong type is an error instead of a silent conversion.

-- +goose Up
CREATE TABLE rooms (
    id              TEXT    NOT NULL PRIMARY KEY,
    tenant          TEXT    NOT NULL DEFAULT '',
    name            TEXT    NOT NULL,
    title           TEXT    NOT NULL DEFAULT '',
    -- lower-cased name + title, written by the store, for ListRooms' text query
    search_text     TEXT    NOT NULL DEFAULT '',
    organizers      TEXT    NOT NULL DEFAULT '[]',
    participants    TEXT    NOT NULL DEFAULT '[]',
    lobby           INTEGER NOT NULL DEFAULT 0 CHECK (lobby IN (0, 1)),
    password        TEXT    NOT NULL DEFAULT '',
    max_occupants   INTEGER NOT NULL DEFAULT 0 CHECK (max_occupants >= 0),
    -- JSON [{"start": µs, "end": µs}]
    one_off_windows TEXT    NOT NULL DEFAULT '[]',
    -- JSON [{"day": 0-6 (Sunday = 0), "start": minute, "end": minute}]
    weekly_slots    TEXT    NOT NULL DEFAULT '[]',
    timezone        TEXT    NOT NULL DEFAULT '',
    valid_from      TEXT    NOT NULL DEFAULT '',
    valid_until     TEXT    NOT NULL DEFAULT '',
    open_early_ms   INTEGER NOT NULL DEFAULT 0 CHECK (open_early_ms >= 0),
    created_by      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1,
    last_ended_at   INTEGER,
    -- also the index of RoomByName, the /join and reservation hot path
    CONSTRAINT rooms_tenant_name UNIQUE (tenant, name)
) STRICT;

CREATE TABLE sessions (
    -- hex SHA-256 of the session id: a copy of the database holds no usable session
    id_hash           TEXT    NOT NULL PRIMARY KEY,
    backend           TEXT    NOT NULL,
    subject           TEXT    NOT NULL,
    username          TEXT    NOT NULL,
    group_list        TEXT    NOT NULL DEFAULT '[]',
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    groups_checked_at INTEGER NOT NULL,
    revoked_at        INTEGER
) STRICT;

CREATE INDEX sessions_backend_subject ON sessions (backend, subject);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- +goose Down
DROP TABLE sessions;
DROP TABLE rooms;
