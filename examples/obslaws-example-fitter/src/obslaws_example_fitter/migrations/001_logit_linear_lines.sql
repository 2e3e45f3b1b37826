-- example 001: the fitted line of every logit-linear fit, one row per benchmark.
-- A plugin's own table: shipped as package data, applied by obslaws.connect through the
-- register_migrations hook and recorded in schema_migrations under the set "example".

CREATE TABLE logit_linear_lines (
    fit_id            VARCHAR NOT NULL,
    benchmark         VARCHAR NOT NULL,
    intercept         DOUBLE NOT NULL,  -- logit above chance at 1e21 FLOPs
    slope             DOUBLE NOT NULL,  -- per unit of ln(FLOPs)
    logit_half_width  DOUBLE NOT NULL,  -- half width of the interval on the logit scale
    PRIMARY KEY (fit_id, benchmark)
);
COMMENT ON TABLE logit_linear_lines IS 'example plugin: the line of each logit-linear fit per benchmark (logit above chance against ln FLOPs).';
