-- 001: the shared table. Names here are the public SQL interface.
-- References between tables are checked by obslaws.store.integrity inside each write's
-- transaction, not by FOREIGN KEY clauses: DuckDB refuses to update a row that a foreign key
-- points at, which would make idempotent upserts impossible.

CREATE TABLE sources (
    source_id   VARCHAR PRIMARY KEY,
    kind        VARCHAR NOT NULL,   -- dataset, paper, model_card, leaderboard, lm_eval_run, correction, ...
    citation    VARCHAR NOT NULL,
    url         VARCHAR,
    license     VARCHAR,
    retrieved   DATE,
    sha256      VARCHAR,
    priority    INTEGER NOT NULL DEFAULT 100  -- lower wins when several sources score one pair
);
COMMENT ON TABLE sources IS 'Where every row came from: one row per dataset, paper, card, dump or run.';

CREATE TABLE families (
    family       VARCHAR PRIMARY KEY,  -- fine-grained: base and instruct versions are separate families
    family_group VARCHAR NOT NULL,     -- the base family a group of families derives from
    organization VARCHAR,
    description  VARCHAR
);
COMMENT ON TABLE families IS 'Model families. family_group joins a base family with its instruct and fine-tuned families.';

CREATE TABLE models (
    model_id              VARCHAR PRIMARY KEY,  -- Hugging Face repo id where one exists; checkpoints add @step
    family                VARCHAR NOT NULL,
    variant               VARCHAR NOT NULL CHECK (variant IN ('base', 'instruct', 'finetune', 'merge')),
    base_model            VARCHAR,
    organization          VARCHAR,
    params_total          DOUBLE CHECK (params_total > 0),
    params_active         DOUBLE CHECK (params_active > 0),
    params_non_embedding  DOUBLE CHECK (params_non_embedding > 0),
    tokens                DOUBLE CHECK (tokens > 0),
    flops                 DOUBLE CHECK (flops > 0),
    flops_basis           VARCHAR,   -- how flops was derived, e.g. '6*params_active*tokens' or 'reported'
    release_date          DATE,
    release_date_source   VARCHAR,
    checkpoint_of         VARCHAR,
    step                  BIGINT,
    license               VARCHAR,
    source_id             VARCHAR NOT NULL
);
COMMENT ON TABLE models IS 'One row per model or training checkpoint. Sizes are plain counts, flops in FLOPs.';

CREATE TABLE model_aliases (
    alias     VARCHAR PRIMARY KEY,
    model_id  VARCHAR NOT NULL,
    source_id VARCHAR
);
COMMENT ON TABLE model_aliases IS 'Every name a source uses for a model, resolved to its canonical model_id.';

CREATE TABLE benchmarks (
    benchmark   VARCHAR PRIMARY KEY,  -- lm-evaluation-harness task name where one exists
    metric      VARCHAR NOT NULL,     -- the headline metric that score_matrix shows
    n_shots     INTEGER NOT NULL,     -- the headline few-shot setting
    chance      DOUBLE NOT NULL CHECK (chance >= 0 AND chance < 1),
    n_items     INTEGER,
    description VARCHAR
);
COMMENT ON TABLE benchmarks IS 'Benchmarks: headline metric and shots, chance level, item count.';

CREATE TABLE scores (
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
    evaluated_at    TIMESTAMP,
    PRIMARY KEY (model_id, benchmark, metric, n_shots, source_id)
);
COMMENT ON TABLE scores IS 'Benchmark scores in [0, 1]. Several sources may score one pair; all are kept.';

CREATE TABLE losses (
    model_id    VARCHAR NOT NULL,
    dataset     VARCHAR NOT NULL,
    value       DOUBLE NOT NULL,
    unit        VARCHAR NOT NULL,  -- nats_per_token, bits_per_byte, nats (log-likelihood), perplexity, ...
    tokens_seen DOUBLE,
    source_id   VARCHAR NOT NULL,
    PRIMARY KEY (model_id, dataset, unit, source_id)
);
COMMENT ON TABLE losses IS 'Continuous measures: losses, bits per byte, log-likelihoods of correct answers.';

CREATE TABLE fits (
    fit_id          VARCHAR PRIMARY KEY,  -- hash of fitter, version, hyperparameters and data
    fitter          VARCHAR NOT NULL,
    fitter_version  VARCHAR NOT NULL,
    plugin          VARCHAR,
    hyperparameters JSON NOT NULL,
    data_hash       VARCHAR NOT NULL,
    benchmarks      VARCHAR[],
    n_models        INTEGER,
    learned         JSON,                 -- the fitter's learned parameters, as it reports them
    created_at      TIMESTAMP NOT NULL DEFAULT current_timestamp,
    duration_s      DOUBLE
);
COMMENT ON TABLE fits IS 'Every fit: fitter, version, hyperparameters, a hash of the data it saw, learned parameters.';

CREATE TABLE predictions (
    fit_id     VARCHAR NOT NULL,
    model_id   VARCHAR NOT NULL,  -- may name a hypothetical model not in models
    benchmark  VARCHAR NOT NULL,
    prediction DOUBLE NOT NULL,
    lower      DOUBLE,
    upper      DOUBLE,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (fit_id, model_id, benchmark)
);
COMMENT ON TABLE predictions IS 'Predictions of a fit, with their intervals.';

CREATE TABLE backtest_runs (
    backtest_id VARCHAR PRIMARY KEY,
    fitter      VARCHAR NOT NULL,
    protocol    VARCHAR NOT NULL,
    benchmarks  VARCHAR[] NOT NULL,
    options     JSON NOT NULL,
    summary     JSON,
    created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
);
COMMENT ON TABLE backtest_runs IS 'One row per backtest run: fitter, protocol, options and the summary it measured.';

CREATE TABLE backtests (
    backtest_id VARCHAR NOT NULL,
    protocol    VARCHAR NOT NULL,
    split       VARCHAR NOT NULL,  -- the fold: held-out group, cut-off or date
    fitter      VARCHAR NOT NULL,
    fit_id      VARCHAR,
    model_id    VARCHAR NOT NULL,
    benchmark   VARCHAR NOT NULL,
    truth       DOUBLE NOT NULL,
    prediction  DOUBLE NOT NULL,
    lower       DOUBLE,
    upper       DOUBLE,
    stderr      DOUBLE,            -- sampling standard error of the truth, where known
    PRIMARY KEY (backtest_id, split, model_id, benchmark)
);
COMMENT ON TABLE backtests IS 'Every backtest cell: protocol, split, fitter, model, benchmark, truth and prediction.';
