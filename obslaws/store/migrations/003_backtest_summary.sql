-- 003: what a backtest run was (fitter version, plugin, hyperparameters, data hash, averaging)
-- and summary views computed from the cells with the papers' averaging.

ALTER TABLE backtest_runs ADD COLUMN fitter_version VARCHAR;
ALTER TABLE backtest_runs ADD COLUMN plugin VARCHAR;
ALTER TABLE backtest_runs ADD COLUMN hyperparameters JSON;
ALTER TABLE backtest_runs ADD COLUMN data_hash VARCHAR;
ALTER TABLE backtest_runs ADD COLUMN averaging VARCHAR;   -- 'split': mean within split, then across splits; 'cell': one mean
ALTER TABLE backtest_runs ADD COLUMN n_splits INTEGER;
ALTER TABLE backtest_runs ADD COLUMN n_cells INTEGER;
ALTER TABLE backtest_runs ADD COLUMN duration_s DOUBLE;

CREATE VIEW backtest_summary AS
WITH units AS (
    SELECT
        c.backtest_id,
        c.benchmark,
        CASE WHEN r.averaging = 'cell' THEN '' ELSE c.split END AS unit,
        avg(abs(c.prediction - c.truth)) AS mae,
        avg((c.prediction - c.truth) * (c.prediction - c.truth)) AS mse,
        avg(c.stderr) AS stderr,
        count(*) FILTER (WHERE c.lower IS NOT NULL AND c.upper IS NOT NULL) AS n_intervals,
        count(*) FILTER (WHERE c.lower <= c.truth AND c.truth <= c.upper) AS n_covered,
        count(*) AS n
    FROM backtests c
    JOIN backtest_runs r USING (backtest_id)
    GROUP BY ALL
)
SELECT
    u.backtest_id,
    r.fitter,
    r.protocol,
    u.benchmark,
    100 * avg(u.mae) AS mae_pt,
    avg(u.mse) AS mse,
    100 * avg(u.stderr) AS noise_floor_pt,
    sum(u.n_covered) / nullif(sum(u.n_intervals), 0) AS coverage,
    sum(u.n)::BIGINT AS n,
    count(*)::BIGINT AS n_units
FROM units u
JOIN backtest_runs r USING (backtest_id)
GROUP BY ALL;
COMMENT ON VIEW backtest_summary IS 'Per backtest run and benchmark: MAE in points and MSE averaged as the protocol says (family-holdout: within split, then across splits), noise floor (mean stderr of the truth, points), interval coverage.';

CREATE VIEW backtest_overall AS
SELECT
    backtest_id,
    fitter,
    protocol,
    avg(mae_pt) AS mae_pt,
    avg(mse) AS mse,
    avg(noise_floor_pt) AS noise_floor_pt,
    avg(coverage) AS coverage,
    count(*) AS n_benchmarks,
    sum(n)::BIGINT AS n_cells
FROM backtest_summary
GROUP BY ALL;
COMMENT ON VIEW backtest_overall IS 'Per backtest run: the unweighted mean over benchmarks of backtest_summary.';
