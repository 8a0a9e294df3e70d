-- The store's tables: what schema 5 of the SQLite store holds, in PostgreSQL's types, plus the
-- files of each succeeded run (run_files) and the solved steps of sweeps and uncertainty runs
-- run as separate jobs (run_steps). Times are text in one UTC format (commissioning.store.
-- sqlite_rows.utc_text), as in SQLite, so that both stores give the same records.
CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    key_hash    TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('commissioner', 'finance', 'borough_lead')),
    area_code   TEXT,
    label       TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    revoked_at  TEXT,
    expires_at  TEXT,
    CHECK ((role = 'borough_lead') = (area_code IS NOT NULL))
);
CREATE TABLE scenarios (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    body          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    created_by    TEXT REFERENCES api_keys(id)
);
CREATE INDEX scenarios_created ON scenarios (created_at, id);
CREATE INDEX scenarios_content ON scenarios (content_hash);
CREATE TABLE runs (
    id            TEXT PRIMARY KEY,
    scenario_id   TEXT NOT NULL REFERENCES scenarios(id),
    status        TEXT NOT NULL
                  CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'infeasible',
                                    'cancelled')),
    reason        TEXT,
    created_at    TEXT NOT NULL,
    started_at    TEXT,
    finished_at   TEXT,
    published_at  TEXT,
    published_by  TEXT REFERENCES api_keys(id),
    summary       TEXT,
    created_by    TEXT REFERENCES api_keys(id),
    lease         TEXT,
    kind          TEXT NOT NULL DEFAULT 'solve',
    settings      TEXT,
    progress_done INTEGER,
    progress_total INTEGER,
    progress_stage TEXT,
    CHECK (published_at IS NULL OR status = 'succeeded')
);
CREATE INDEX runs_created ON runs (created_at, id);
CREATE INDEX runs_status ON runs (status);
CREATE INDEX runs_scenario ON runs (scenario_id);
CREATE TABLE audit_log (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    key_id      TEXT,
    key_name    TEXT NOT NULL DEFAULT '',
    role        TEXT NOT NULL,
    reason      TEXT
);
CREATE TABLE idempotency_keys (
    key_id       TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    status       INTEGER,
    content_type TEXT,
    location     TEXT,
    body         BYTEA,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (key_id, idempotency_key)
);
CREATE INDEX idempotency_created ON idempotency_keys (created_at);
CREATE TABLE ended_sessions (
    session_id  TEXT PRIMARY KEY,
    key_id      TEXT NOT NULL,
    ended_at    TEXT NOT NULL
);
CREATE INDEX ended_sessions_at ON ended_sessions (ended_at);
-- A succeeded run's files, written in the transaction that marks it succeeded: whichever
-- machine solved it, every server reads the same files (and keeps a copy in its data folder).
CREATE TABLE run_files (
    run_id   TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    content  BYTEA NOT NULL,
    PRIMARY KEY (run_id, name)
);
-- One row per step of a sweep or draw of an uncertainty run: `attempts` counts the times a
-- worker began solving it (1 unless a worker died mid-step), `solved_by` the worker solving or
-- that solved it, `result` is written once.
CREATE TABLE run_steps (
    run_id     TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step       INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    result     BYTEA,
    solved_by  TEXT,
    solved_at  TEXT,
    PRIMARY KEY (run_id, step)
);
-- Secrets every server of the store shares (the web sessions' signing key), made once.
CREATE TABLE store_secrets (
    name   TEXT PRIMARY KEY,
    value  BYTEA NOT NULL
);
