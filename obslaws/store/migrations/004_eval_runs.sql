-- 004: what the ingestors keep beside scores and losses: the configuration of every
-- lm-evaluation-harness run, the cells `obslaws eval` has finished (so an interrupted run
-- resumes), the datasets a model card names, and the stderr and shots of a continuous measure.

CREATE TABLE eval_runs (
    source_id       VARCHAR PRIMARY KEY,  -- the sources row of the results file or run
    model_id        VARCHAR NOT NULL,
    model_name      VARCHAR NOT NULL,     -- the name the run used (hub id, path or leaderboard name)
    revision        VARCHAR,
    harness         VARCHAR NOT NULL,     -- lm-evaluation-harness, or the leaderboard's wrapper of it
    harness_version VARCHAR,              -- lm_eval version; 'pre-0.4' for the older format
    file_format     VARCHAR NOT NULL,     -- lm-eval-0.4, lm-eval-0.3, oll-v1, oll-v2, obslaws-eval
    model_args      VARCHAR,
    n_shot          JSON,                 -- task -> few-shot setting
    task_versions   JSON,                 -- task -> task version
    config          JSON,                 -- the run's `config` block (batch size, limit, seeds, device, ...)
    path            VARCHAR,              -- the file as given to the ingest, where there was one
    evaluated_at    TIMESTAMP
);
COMMENT ON TABLE eval_runs IS 'One row per lm-evaluation-harness run or results file: model, harness version and run configuration.';

CREATE TABLE eval_cache (
    model_id        VARCHAR NOT NULL,
    revision        VARCHAR NOT NULL,   -- '' when none was asked for
    task            VARCHAR NOT NULL,
    num_fewshot     INTEGER NOT NULL,   -- as requested; -1 = the task's default
    harness_version VARCHAR NOT NULL,
    "limit"         VARCHAR NOT NULL,   -- as requested; '' = every item
    source_id       VARCHAR NOT NULL,   -- the run that finished this cell
    n_shots         INTEGER,            -- the setting the harness actually used
    finished_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (model_id, revision, task, num_fewshot, harness_version, "limit")
);
COMMENT ON TABLE eval_cache IS 'Evaluation cells that obslaws eval has finished and stored; a rerun skips them.';

CREATE TABLE model_datasets (
    model_id  VARCHAR NOT NULL,
    dataset   VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,
    PRIMARY KEY (model_id, dataset)
);
COMMENT ON TABLE model_datasets IS 'Training or fine-tuning data sets a model card lists.';

ALTER TABLE losses ADD COLUMN stderr DOUBLE;
ALTER TABLE losses ADD COLUMN n_shots INTEGER;
