-- Personal calendar feeds (PostgreSQL). Keep it equivalent to ../sqlite/00004_calendar_feeds.sql.
--
-- One row per user (backend + subject): the user's secret feed address. The
-- address's token is stored only as its SHA-256 (token_hash); seed is the
-- random value the gateway derives the token from with its session secret,
-- useless without that secret, so the calendar page can show the address
-- again. A new address replaces the row's token_hash and seed: the old
-- address stops working at once (revocation).
--
-- username and group_list are the user as the feed sees them (rooms are
-- matched by name and group): taken from the login record when the feed is
-- created, refreshed whenever the user opens the calendar page.

-- +goose Up
CREATE TABLE calendar_feeds (
    backend     TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    -- hex SHA-256 of the token in the address
    token_hash  TEXT    NOT NULL,
    seed        TEXT    NOT NULL,
    username    TEXT    NOT NULL,
    group_list  TEXT    NOT NULL DEFAULT '[]',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (backend, subject),
    CONSTRAINT calendar_feeds_token_hash UNIQUE (token_hash)
);

-- +goose Down
DROP TABLE calendar_feeds;
