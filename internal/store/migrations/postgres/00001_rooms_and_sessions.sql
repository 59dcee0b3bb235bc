-- Schema v1 for PostgreSQL. Keep it equivalent to ../sqlite/00001_rooms_and_sessions.sql:
-- the same store code and test suite run against both.
--
-- Conventions (see the package doc in internal/store/store.go):
--   * instants are BIGINT microseconds since the Unix epoch (UTC), NULL = unset,
--     so both dialects round-trip the same values exactly;
--   * lists are JSON text ('[]' when empty).

-- +goose Up
CREATE TABLE rooms (
    id              TEXT    NOT NULL PRIMARY KEY,
    -- byte order ("C"), as in SQLite: same uniqueness and ListRooms order on both
    tenant          TEXT    COLLATE "C" NOT NULL DEFAULT '',
    name            TEXT    COLLATE "C" NOT NULL,
    title           TEXT    NOT NULL DEFAULT '',
    -- lower-cased name + title, written by the store, for ListRooms' text query
    search_text     TEXT    NOT NULL DEFAULT '',
    organizers      TEXT    NOT NULL DEFAULT '[]',
    participants    TEXT    NOT NULL DEFAULT '[]',
    lobby           BOOLEAN NOT NULL DEFAULT FALSE,
    password        TEXT    NOT NULL DEFAULT '',
    max_occupants   INTEGER NOT NULL DEFAULT 0 CHECK (max_occupants >= 0),
    -- JSON [{"start": µs, "end": µs}]
    one_off_windows TEXT    NOT NULL DEFAULT '[]',
    -- JSON [{"day": 0-6 (Sunday = 0), "start": minute, "end": minute}]
    weekly_slots    TEXT    NOT NULL DEFAULT '[]',
    timezone        TEXT    NOT NULL DEFAULT '',
    valid_from      TEXT    NOT NULL DEFAULT '',
    valid_until     TEXT    NOT NULL DEFAULT '',
    open_early_ms   BIGINT  NOT NULL DEFAULT 0 CHECK (open_early_ms >= 0),
    created_by      TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    version         BIGINT  NOT NULL DEFAULT 1,
    last_ended_at   BIGINT,
    -- also the index of RoomByName, the /join and reservation hot path
    CONSTRAINT rooms_tenant_name UNIQUE (tenant, name)
);

CREATE TABLE sessions (
    -- hex SHA-256 of the session id: a copy of the database holds no usable session
    id_hash           TEXT   NOT NULL PRIMARY KEY,
    backend           TEXT   NOT NULL,
    subject           TEXT   NOT NULL,
    username          TEXT   NOT NULL,
    group_list        TEXT   NOT NULL DEFAULT '[]',
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    groups_checked_at BIGINT NOT NULL,
    revoked_at        BIGINT
);

CREATE INDEX sessions_backend_subject ON sessions (backend, subject);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- +goose Down
DROP TABLE sessions;
DROP TABLE rooms;
