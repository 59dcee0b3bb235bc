-- Schema v2 for SQLite: guest invitations (docs/invites.md). Keep it
-- equivalent to ../postgres/00002_invites.sql.
--
-- An invite lets people without an account into one room. The code in the
-- link is a bearer secret: only its hex SHA-256 is stored, so a copy of the
-- database opens no meeting. Deleting a room deletes its invites.

-- +goose Up
CREATE TABLE invites (
    id          TEXT    NOT NULL PRIMARY KEY,
    room_id     TEXT    NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    code_hash   TEXT    NOT NULL UNIQUE,
    created_by  TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    -- 0: any number of uses until the invite expires
    max_uses    INTEGER NOT NULL DEFAULT 0 CHECK (max_uses >= 0),
    uses        INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0),
    -- '' : the guest types a name; otherwise the name every guest gets
    guest_name  TEXT    NOT NULL DEFAULT '',
    lobby       INTEGER NOT NULL DEFAULT 1 CHECK (lobby IN (0, 1)),
    revoked_at  INTEGER
) STRICT;

-- ListInvites, and the cascade from rooms
CREATE INDEX invites_room_created ON invites (room_id, created_at);

-- +goose Down
DROP TABLE invites;
