-- densing 001 (core migration 007 before plugins owned their tables): capacity density (densing fitter). Written by Densing.store_extras after a fit.

CREATE TABLE densities (
    fit_id            VARCHAR NOT NULL,
    model_id          VARCHAR NOT NULL,
    reference_family  VARCHAR NOT NULL,  -- the family whose size-to-score curve defines effective size
    method            VARCHAR NOT NULL,  -- direct (score vs log size) or two-step (loss law + sigmoid)
    benchmark_set     VARCHAR NOT NULL,  -- comma-separated benchmarks the effective size averages over
    params            DOUBLE NOT NULL,   -- active parameters
    effective_params  DOUBLE NOT NULL,   -- geometric mean over the set of the reference-equivalent sizes
    density           DOUBLE NOT NULL,   -- effective_params / params
    release_date      DATE,
    on_envelope       BOOLEAN NOT NULL,  -- set a density record when released
    PRIMARY KEY (fit_id, model_id)
);
COMMENT ON TABLE densities IS 'Capacity density of each model against a reference family (densing fitter).';

CREATE TABLE density_trend (
    fit_id            VARCHAR PRIMARY KEY,
    reference_family  VARCHAR NOT NULL,
    method            VARCHAR NOT NULL,
    benchmark_set     VARCHAR NOT NULL,
    slope_per_day     DOUBLE NOT NULL,   -- A in ln rho_max(t) = A t + B (t in days)
    intercept         DOUBLE NOT NULL,   -- B, with t counted from epoch
    epoch             DATE NOT NULL,
    slope_lo          DOUBLE,            -- bootstrap percentile interval of A
    slope_hi          DOUBLE,
    level             DOUBLE,            -- the interval's level, e.g. 0.9
    doubling_days     DOUBLE,            -- ln 2 / A
    doubling_lo       DOUBLE,
    doubling_hi       DOUBLE,
    r2                DOUBLE,
    n_envelope        INTEGER,
    n_models          INTEGER
);
COMMENT ON TABLE density_trend IS 'Growth of the maximum capacity density over release dates (densing fitter).';
