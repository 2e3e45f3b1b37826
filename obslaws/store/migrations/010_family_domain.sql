-- 010: a family's training domain, so fitters can tell code- and math-specialised families (which
-- score far below general models of their size on HellaSwag, WinoGrande, ARC) from general ones.
-- DuckDB cannot add a column with a CHECK: the registry check (obslaws.registry_check.DOMAINS)
-- refuses any value but 'code' and 'math'.

ALTER TABLE families ADD COLUMN domain VARCHAR;
COMMENT ON COLUMN families.domain IS 'What the family was trained on beyond general text: code or math; NULL for a general model. Sources: scripts/registry_build/domains.py.';
COMMENT ON TABLE families IS 'Model families. family_group joins a base family with its instruct and fine-tuned families; domain marks code- and math-specialised families (NULL = general).';

-- model_features as in 002, with the family's domain after its group.
CREATE OR REPLACE VIEW model_features AS
SELECT
    m.model_id,
    m.family,
    f.family_group,
    f.domain,
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
COMMENT ON VIEW model_features IS 'What fitters read about a model: family, group and domain (code, math or NULL), active parameters, tokens, compute (6ND where not reported), release date.';
