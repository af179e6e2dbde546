#!/usr/bin/env bash
# The prepared GPU check: on a machine with an NVIDIA GPU and the bundle from `./build.sh --target=Publish`, run
#   scripts/gpu-check.sh OUTDIR
# from the repository (for configs/). It writes to OUTDIR, step by step, whatever each step produced:
#   selftest.json / selftest.txt          onepass selftest --backend cuda --json (exit code in steps.tsv)
#   bench-<model>.json                    onepass bench --backend cuda --json for each model below
#   torch-<model>.json                    the same shapes on PyTorch eager (scripts/torch_gpu_peer.py), when torch imports
#   <step>.stderr, environment.txt, steps.tsv (step, exit code, seconds), summary.json (OnePass / PyTorch ratios)
# Models: MLP 784-50-10 (batch 50), MLP 784-4096-4096-10 (batch 1024), ResNet-18 (batch 100, 3x32x32), PTB LSTM
# (70 steps x 40 sequences). Every step has its own time limit and the whole check stops starting new steps after
# ONEPASS_GPU_CHECK_BUDGET seconds (default 420), so it ends within 8 minutes on one GPU. Exit code: 0 when the
# self-test passed, else the self-test's (69: no usable GPU); bench and PyTorch failures are recorded, not fatal.
# ONEPASS=path overrides the onepass executable (default: artifacts/onepass-linux-x64/onepass, else onepass on PATH).
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: scripts/gpu-check.sh OUTDIR" >&2
  exit 2
fi
out=$1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
budget=${ONEPASS_GPU_CHECK_BUDGET:-420}
start=$SECONDS

onepass=${ONEPASS:-}
if [ -z "$onepass" ]; then
  if [ -x "$root/artifacts/onepass-linux-x64/onepass" ]; then
    onepass="$root/artifacts/onepass-linux-x64/onepass"
  elif command -v onepass >/dev/null 2>&1; then
    onepass=$(command -v onepass)
  else
    echo "gpu-check: no onepass bundle (run ./build.sh --target=Publish, or set ONEPASS)" | tee "$out/error.txt" >&2
    exit 2
  fi
fi

# CUDA libraries from pip wheels (nvidia/*/lib) in the site-packages of the python3 on PATH, which may be a virtual
# environment that is not activated: hand that folder to onepass's library search through PYTHONPATH (onepass only).
python=$(command -v python3 || true)
onepass_env=()
if [ -n "$python" ]; then
  site=$(timeout 30 "$python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' 2>/dev/null || true)
  if [ -n "$site" ] && [ -d "$site/nvidia" ]; then
    onepass_env=(env "PYTHONPATH=$site${PYTHONPATH:+:$PYTHONPATH}")
  fi
fi

printf 'step\texit\tseconds\n' > "$out/steps.tsv"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "onepass: $onepass"
  echo "onepass environment: ${onepass_env[*]:-(none)}"
  echo "python3: ${python:-(none)}"
  echo "host: $(uname -a)"
  timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1 || echo "nvidia-smi: unavailable"
} > "$out/environment.txt"

# step NAME LIMIT_SECONDS OUTPUT_FILE COMMAND...: runs COMMAND with a time limit, stdout to OUTPUT_FILE, stderr to
# NAME.stderr, and records the exit code (124: timed out; "skipped": the budget was spent) without stopping the check.
step() {
  local name=$1 limit=$2 file=$3
  shift 3
  local left=$((budget - (SECONDS - start)))
  if [ "$left" -le 5 ]; then
    printf '%s\tskipped\t0\n' "$name" >> "$out/steps.tsv"
    echo "gpu-check: $name skipped (budget of ${budget}s spent)" >&2
    return 0
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  local began=$SECONDS rc=0
  echo "gpu-check: $name (limit ${limit}s)" >&2
  timeout -k 10 "$limit" "$@" > "$out/$file" 2> "$out/$name.stderr" || rc=$?
  printf '%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - began))" >> "$out/steps.tsv"
  [ -s "$out/$name.stderr" ] || rm -f "$out/$name.stderr"
  [ -s "$out/$file" ] || rm -f "$out/$file"
  return 0
}

step selftest 150 selftest.txt "${onepass_env[@]}" "$onepass" selftest --backend cuda --json "$out/selftest.json"
selftest_rc=$(awk -F'\t' '$1 == "selftest" { print $2 }' "$out/steps.tsv")

bench() {
  local name=$1
  shift
  step "bench-$name" 60 "bench-$name.json" "${onepass_env[@]}" "$onepass" bench --backend cuda --json --seconds 1 "$@"
}
bench mlp-784-50-10 --layers 784,50,10 --batch 50
bench mlp-784-4096-4096-10 --layers 784,4096,4096,10 --batch 1024
bench resnet18 --config "$root/configs/cifar10-resnet18.yaml" --batch 100
bench ptb-lstm --config "$root/configs/ptb-lstm.yaml" --batch 70

if [ -n "$python" ] && timeout 60 "$python" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" >/dev/null 2>&1; then
  peer="$root/scripts/torch_gpu_peer.py"
  step torch-mlp-784-50-10 45 torch-mlp-784-50-10.json "$python" "$peer" mlp --layers 784,50,10 --batch 50
  step torch-mlp-784-4096-4096-10 45 torch-mlp-784-4096-4096-10.json "$python" "$peer" mlp --layers 784,4096,4096,10 --batch 1024
  step torch-resnet18 60 torch-resnet18.json "$python" "$peer" resnet18 --image 3x32x32 --batch 100
  step torch-ptb-lstm 60 torch-ptb-lstm.json "$python" "$peer" lstm --vocab 10000 --hidden 650 --steps 70 --sequences 40
else
  printf 'torch\tunavailable\t0\n' >> "$out/steps.tsv"
fi

# OnePass time over PyTorch time per figure, for every model both produced (below 1: OnePass is faster).
if [ -n "$python" ]; then
  timeout 30 "$python" - "$out" > "$out/summary.json" 2> "$out/summary.stderr" <<'PY' || true
import json, os, sys
out = sys.argv[1]
def load(name):
    try:
        with open(os.path.join(out, name)) as f:
            text = f.read().strip()
    except OSError:
        return None
    for candidate in (text, text.splitlines()[-1] if text else ""):
        try:
            return json.loads(candidate)
        except ValueError:
            pass
    return None
summary = {"selftest": load("selftest.json") and {k: load("selftest.json")[k] for k in ("passed", "failed", "description")}}
for model in ("mlp-784-50-10", "mlp-784-4096-4096-10", "resnet18", "ptb-lstm"):
    ours, theirs = load(f"bench-{model}.json"), load(f"torch-{model}.json")
    row = {"onepass": ours, "pytorch": theirs}
    if ours and theirs:
        row["onepass_over_pytorch"] = {k: ours[k] / theirs[k] for k in ("gradient_ms", "hvp_ms", "train_step_ms") if ours.get(k) and theirs.get(k)}
    summary[model] = row
print(json.dumps(summary, indent=2))
PY
  [ -s "$out/summary.stderr" ] || rm -f "$out/summary.stderr"
fi

echo "gpu-check: done in $((SECONDS - start))s; results in $out" >&2
case "$selftest_rc" in
  0) exit 0 ;;
  ''|skipped) exit 1 ;;
  *) exit "$selftest_rc" ;;
esac
