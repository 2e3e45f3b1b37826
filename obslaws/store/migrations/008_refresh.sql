-- 008: one row per leaderboard refresh, so a second run can tell that nothing is new.

CREATE TABLE refresh_runs (
    refresh_id  VARCHAR PRIMARY KEY,
    state_hash  VARCHAR NOT NULL,   -- hash of the data, the refresh plan and the fitters' versions
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    summary     JSON                -- what was ingested, fitted and backtested, and how long each step took
);
COMMENT ON TABLE refresh_runs IS 'Every completed leaderboard refresh: its state hash and what it did.';
