-- Inline sign-in grants (internal/sso) for PostgreSQL. Keep it equivalent to
-- ../sqlite/00003_sso.sql. Version 00002 belongs to another feature; goose
-- applies the numbers it has in order and tolerates the gap.
--
-- One row per authorization code or refresh token. Only the SHA-256 of the
-- secret is stored, and what the grant remembers (the login it came from,
-- the identity, the room, the PKCE challenge) is sealed with a key derived
-- from the secret itself: a copy of the database yields neither usable
-- tokens nor the login ids behind them.

-- +goose Up
CREATE TABLE sso_grants (
    token_hash  TEXT    NOT NULL PRIMARY KEY,
    -- 'code' (single use, short-lived) or 'refresh' (rotated on every use)
    kind        TEXT    NOT NULL CHECK (kind IN ('code', 'refresh')),
    -- every token that descends from one code: a replayed code or refresh
    -- token revokes the whole family
    family      TEXT    NOT NULL,
    client_id   TEXT    NOT NULL,
    -- hex SHA-256 of the login id (sessions.id_hash): logout revokes by it
    login_hash  TEXT    NOT NULL,
    backend     TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    sealed      TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    used_at     BIGINT,
    revoked_at  BIGINT
);

CREATE INDEX sso_grants_family ON sso_grants (family);
CREATE INDEX sso_grants_login ON sso_grants (login_hash);
CREATE INDEX sso_grants_user ON sso_grants (backend, subject, client_id);
CREATE INDEX sso_grants_expires_at ON sso_grants (expires_at);

-- +goose Down
DROP TABLE sso_grants;
