#!/usr/bin/env bash
# Prove the CUDA paths of `obslaws eval` on a GPU machine, offline, in under 5 minutes:
# builds tiny local checkpoints and tasks (python -m obslaws.evaluate.tiny --gpu), then runs
# `obslaws eval --device cuda` with the hf backend and, where vllm is installed, the vllm backend,
# each in one process and, where ray is installed, under a local Ray (--ray), and prints rows
# written and seconds; then the hf run again on CPU, and how far its scores and losses are from CUDA's.
# Needs the .venv of scripts/setup.sh (with a CUDA build of torch) or PYTHON=/path/to/python.
# The vllm runs use one checkpoint (an engine start per cell is the slow part).
# DEVICE=cpu runs the same table on CPU (hf only): a check of this script on a machine without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_PROGRESS_BARS=1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/obslaws-gpu-check.XXXXXX")
export HF_HOME="$WORK/hf"
trap 'rm -rf "$WORK"' EXIT

DEVICE=${DEVICE:-cuda}
if [ "$DEVICE" = cuda ]; then
    "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA GPU visible to torch')"
    "$PY" -c "import torch; print('GPU:', torch.cuda.get_device_name(0), '| torch', torch.__version__)"
fi
"$PY" -m obslaws.evaluate.tiny "$WORK/tiny" --gpu > /dev/null
MODELS=("$WORK"/tiny/tiny-llama-{128,256,384})
BACKENDS=(hf)
if [ "$DEVICE" != cuda ]; then
    echo "device $DEVICE: hf only"
elif "$PY" -c "import vllm" 2> /dev/null; then
    BACKENDS+=(vllm)
else
    echo "vllm not installed: hf only"
fi
MODES=(single)
if "$PY" -c "import ray" 2> /dev/null; then
    MODES+=(ray)
else
    echo "ray not installed: single-process only"
fi
TASKS=(--tasks tiny_mc,tiny_ppl --include-path "$WORK/tiny/tasks" --only-included --batch-size 4 --device "$DEVICE")

rows() {  # scores, losses and finished cells in a database
    "$PY" - "$1" << 'EOF'
import sys, duckdb
conn = duckdb.connect(sys.argv[1], read_only=True)
print(*(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("scores", "losses", "eval_cache")))
EOF
}

TABLE="| backend ($DEVICE) | mode | cells | scores | losses | eval_cache | seconds |"$'\n'"|---|---|---|---|---|---|---|"
STATUS=0
for backend in "${BACKENDS[@]}"; do
    models=("${MODELS[@]}")
    [ "$backend" = vllm ] && models=("${MODELS[0]}")
    for mode in "${MODES[@]}"; do
        db="$WORK/$backend-$mode.duckdb"
        extra=()
        [ "$mode" = ray ] && extra=(--ray --no-progress)
        # An empty migrated database (obslaws init would load the registry too).
        "$PY" -c "import sys, obslaws; obslaws.connect(sys.argv[1], plugins=False).close()" "$db"
        start=$(date +%s%N)
        if "$PY" -m obslaws --db "$db" eval "${models[@]}" "${TASKS[@]}" --backend "$backend" "${extra[@]}" \
            > "$WORK/$backend-$mode.log" 2>&1; then
            read -r scores losses cells <<< "$(rows "$db")"
        else
            echo "FAILED: $backend $mode (last lines of its log):"; tail -n 20 "$WORK/$backend-$mode.log"
            scores=- losses=- cells=-; STATUS=1
        fi
        tenths=$((($(date +%s%N) - start) / 100000000))
        TABLE+=$'\n'"| $backend | $mode | $((${#models[@]} * 2)) | $scores | $losses | $cells | $((tenths / 10)).$((tenths % 10)) |"
    done
done
echo "$TABLE"

# The CUDA run's numbers against the same run on CPU: every score and loss present in both, the
# losses equal to 1e-3 relative (the scores are reported: one flipped example moves an accuracy).
if [ "$DEVICE" = cuda ] && [ -f "$WORK/hf-single.duckdb" ]; then
    db="$WORK/hf-cpu.duckdb"
    "$PY" -c "import sys, obslaws; obslaws.connect(sys.argv[1], plugins=False).close()" "$db"
    if "$PY" -m obslaws --db "$db" eval "${MODELS[@]}" "${TASKS[@]/cuda/cpu}" --backend hf > "$WORK/hf-cpu.log" 2>&1; then
        "$PY" - "$WORK/hf-single.duckdb" "$db" << 'EOF' || STATUS=1
import sys, duckdb
conn = duckdb.connect()
conn.execute(f"ATTACH '{sys.argv[1]}' AS gpu (READ_ONLY)")
conn.execute(f"ATTACH '{sys.argv[2]}' AS cpu (READ_ONLY)")
checks = {
    "scores": ("model_id, benchmark, metric, n_shots", "abs(g.value - c.value)"),
    "losses": ("model_id, dataset, unit", "abs(g.value - c.value) / greatest(abs(c.value), 1e-12)"),
}
failed = False
for table, (key, gap) in checks.items():
    on = " AND ".join(f"g.{k} = c.{k}" for k in key.split(", "))
    both, worst, gpu_only = conn.execute(
        f"SELECT count(c.value), max({gap}), count(*) - count(c.value) FROM gpu.{table} g LEFT JOIN cpu.{table} c ON {on}"
    ).fetchone()
    cpu_only = conn.execute(f"SELECT count(*) FROM cpu.{table}").fetchone()[0] - both
    relative = " (relative)" if table == "losses" else ""
    print(f"CUDA against CPU, {table}: {both} in both, {gpu_only + cpu_only} in one only, largest difference {worst or 0:.3g}{relative}")
    failed |= gpu_only + cpu_only > 0 or (table == "losses" and (worst or 0) > 1e-3)
sys.exit(1 if failed else 0)
EOF
    else
        echo "FAILED: hf on cpu (last lines of its log):"; tail -n 20 "$WORK/hf-cpu.log"; STATUS=1
    fi
fi
exit $STATUS
