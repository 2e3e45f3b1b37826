-- sloth 001 (core migration 005 before plugins owned their tables): interpretable skills of the sloth fitter (whitened, oblique-rotated, signs fixed so that
-- every skill grows with model size), one row per fact, keyed on the fit.

CREATE TABLE skill_values (
    fit_id    VARCHAR NOT NULL,
    model_id  VARCHAR NOT NULL,
    skill     INTEGER NOT NULL,  -- 1..d
    value     DOUBLE NOT NULL,   -- zero mean, unit variance over the fit's training models
    PRIMARY KEY (fit_id, model_id, skill)
);
COMMENT ON TABLE skill_values IS 'sloth: each training model''s value on each rotated skill (mean 0, sd 1 over the training models).';

CREATE TABLE skill_loadings (
    fit_id     VARCHAR NOT NULL,
    benchmark  VARCHAR NOT NULL,
    skill      INTEGER NOT NULL,
    loading    DOUBLE NOT NULL,  -- weight of the skill in the benchmark's linear predictor
    PRIMARY KEY (fit_id, benchmark, skill)
);
COMMENT ON TABLE skill_loadings IS 'sloth: oblique-rotated loadings of each benchmark on each skill.';

CREATE TABLE skill_slopes (
    fit_id     VARCHAR NOT NULL,
    term       VARCHAR NOT NULL,  -- 'log10_params', 'log10_tokens', 'log10_params*log10_tokens' (params in 1e9, tokens in 1e12)
    skill      INTEGER NOT NULL,
    slope      DOUBLE NOT NULL,
    PRIMARY KEY (fit_id, term, skill)
);
COMMENT ON TABLE skill_slopes IS 'sloth: shared slopes of each rotated skill on the size and token covariates.';

CREATE TABLE skill_family_intercepts (
    fit_id     VARCHAR NOT NULL,
    family     VARCHAR NOT NULL,
    skill      INTEGER NOT NULL,
    intercept  DOUBLE NOT NULL,  -- the family's efficiency on the skill (rotated coordinates)
    PRIMARY KEY (fit_id, family, skill)
);
COMMENT ON TABLE skill_family_intercepts IS 'sloth: per-family intercepts (efficiencies) of each rotated skill.';
