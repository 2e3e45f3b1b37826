-- 002: views for the common questions. score_matrix is rebuilt by the store whenever the
-- benchmark list changes (DuckDB needs PIVOT columns spelt out in a view).

CREATE VIEW preferred_scores AS
SELECT model_id, benchmark, value, stderr, n_samples, source_id, harness, harness_version
FROM (
    SELECT s.*, row_number() OVER (
        PARTITION BY s.model_id, s.benchmark
        ORDER BY src.priority, s.evaluated_at DESC NULLS LAST, s.source_id
    ) AS rank_
    FROM scores s
    JOIN benchmarks b USING (benchmark)
    JOIN sources src USING (source_id)
    WHERE s.metric = b.metric AND s.n_shots = b.n_shots
)
WHERE rank_ = 1;
COMMENT ON VIEW preferred_scores IS 'One score per (model, benchmark): the headline metric and shots, from the highest-priority source.';

CREATE VIEW model_features AS
SELECT
    m.model_id,
    m.family,
    f.family_group,
    m.variant,
    m.variant <> 'base' AS instruct,
    m.organization,
    coalesce(m.params_active, m.params_total) AS params,
    m.params_total,
    m.params_active,
    m.params_non_embedding,
    m.tokens,
    coalesce(m.flops, 6 * coalesce(m.params_active, m.params_total) * m.tokens) AS flops,
    m.release_date,
    m.checkpoint_of,
    m.step,
    m.checkpoint_of IS NOT NULL AS is_checkpoint
FROM models m
JOIN families f USING (family);
COMMENT ON VIEW model_features IS 'What fitters read about a model: family and group, active parameters, tokens, compute (6ND where not reported), release date.';

CREATE VIEW latest_fits AS
SELECT * EXCLUDE (rank_) FROM (
    SELECT *, row_number() OVER (PARTITION BY fitter ORDER BY created_at DESC, fit_id) AS rank_
    FROM fits
)
WHERE rank_ = 1;
COMMENT ON VIEW latest_fits IS 'The most recent fit of each fitter.';
