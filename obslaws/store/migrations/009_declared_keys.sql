-- 009: scores and losses without a PRIMARY KEY. An ingest appends ~160 rows per results file to
-- them, and maintaining DuckDB's ART index for the key (and committing it) took more than half
-- of a large ingest's time; DuckDB's performance guide advises against keys on bulk-loaded tables.
-- Their natural keys are declared in table_keys instead: obslaws.store.upsert writes on them
-- (dedup, anti-join; DuckDB has one writer per file) and obslaws.store.integrity.check_integrity
-- reports any duplicate. Every other table keeps its PRIMARY KEY.

CREATE TABLE table_keys (
    table_name  VARCHAR PRIMARY KEY,
    key_columns VARCHAR[] NOT NULL   -- the natural key, in order
);
COMMENT ON TABLE table_keys IS 'Natural keys of the tables that have no PRIMARY KEY index (large, bulk-loaded): upserts write on them and check_integrity reports duplicates.';

INSERT INTO table_keys VALUES
    ('scores', ['model_id', 'benchmark', 'metric', 'n_shots', 'source_id']),
    ('losses', ['model_id', 'dataset', 'unit', 'source_id']);

CREATE TABLE scores_009 (
    model_id        VARCHAR NOT NULL,
    benchmark       VARCHAR NOT NULL,
    metric          VARCHAR NOT NULL,
    n_shots         INTEGER NOT NULL,
    value           DOUBLE NOT NULL CHECK (value >= 0 AND value <= 1),
    stderr          DOUBLE,
    n_samples       INTEGER,
    source_id       VARCHAR NOT NULL,
    harness         VARCHAR,
    harness_version VARCHAR,
    evaluated_at    TIMESTAMP
);
INSERT INTO scores_009 SELECT model_id, benchmark, metric, n_shots, value, stderr, n_samples, source_id,
    harness, harness_version, evaluated_at FROM scores;
DROP TABLE scores;
ALTER TABLE scores_009 RENAME TO scores;
COMMENT ON TABLE scores IS 'Benchmark scores in [0, 1]. Several sources may score one pair; all are kept.';

-- Same column order as before (stderr and n_shots were added by migration 004).
CREATE TABLE losses_009 (
    model_id    VARCHAR NOT NULL,
    dataset     VARCHAR NOT NULL,
    value       DOUBLE NOT NULL,
    unit        VARCHAR NOT NULL,  -- nats_per_token, bits_per_byte, nats (log-likelihood), perplexity, ...
    tokens_seen DOUBLE,
    source_id   VARCHAR NOT NULL,
    stderr      DOUBLE,
    n_shots     INTEGER
);
INSERT INTO losses_009 SELECT model_id, dataset, value, unit, tokens_seen, source_id, stderr, n_shots FROM losses;
DROP TABLE losses;
ALTER TABLE losses_009 RENAME TO losses;
COMMENT ON TABLE losses IS 'Continuous measures: losses, bits per byte, log-likelihoods of correct answers.';
