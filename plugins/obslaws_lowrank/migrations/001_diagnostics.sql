-- lowrank 001 (core migration 006 before plugins owned their tables): diagnostics of the lowrank (observational scaling laws) fitter, one row per fact, keyed on the fit.

CREATE TABLE family_efficiency (
    fit_id     VARCHAR NOT NULL,
    benchmark  VARCHAR NOT NULL,  -- the target whose capabilities (PCA inputs) these are
    family     VARCHAR NOT NULL,
    component  VARCHAR NOT NULL,  -- 'PC1', 'PC2', ... or 'logit' (the target's fitted logit)
    slope      DOUBLE NOT NULL,   -- per decade of training FLOPs (log10)
    intercept  DOUBLE NOT NULL,   -- at 1 FLOP (log10 FLOPs = 0)
    r2         DOUBLE,            -- NULL for families with two models
    n_models   INTEGER NOT NULL,
    PRIMARY KEY (fit_id, benchmark, family, component)
);
COMMENT ON TABLE family_efficiency IS 'lowrank: per family, each capability (PC) and the target logit against log10 training FLOPs: slope, intercept, R^2.';

CREATE TABLE equivalent_compute (
    fit_id           VARCHAR NOT NULL,
    benchmark        VARCHAR NOT NULL,
    model_id         VARCHAR NOT NULL,
    reference_family VARCHAR NOT NULL,
    log10_flops      DOUBLE NOT NULL,  -- FLOPs at which the reference family reaches this model's fitted logit
    PRIMARY KEY (fit_id, benchmark, model_id, reference_family)
);
COMMENT ON TABLE equivalent_compute IS 'lowrank: each training model''s fitted logit mapped onto a reference family''s (default Llama-2) log10 compute axis.';
