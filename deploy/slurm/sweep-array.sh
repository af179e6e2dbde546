#!/usr/bin/env bash
# A OnePass sweep as a SLURM array job: array task i of N runs `onepass sweep --shard i/N`, so the N tasks share
# the sweep's runs out between them (run k goes to task k mod N), all writing into one folder on a file system
# every node sees. Each run keeps its own folder (SWEEP_DIR/<algorithm>/init-<k>/), so the tasks never write the
# same files; a task that is requeued or resubmitted skips the runs already finished.
#
#   export SWEEP_DIR=/shared/onepass/fashion-mnist CONFIG=configs/fashion-mnist.yaml
#   job=$(sbatch --parsable --array=0-7 deploy/slurm/sweep-array.sh)
#   sbatch --dependency=afterany:$job --wrap "onepass report $SWEEP_DIR"
#   tensorboard --logdir "$SWEEP_DIR"      # every run's event file, one TensorBoard run per folder
#
# Settings (environment variables; sbatch passes the submitting shell's environment on by default):
#   SWEEP_DIR   (required) the shared output folder
#   CONFIG      base configuration (default configs/fashion-mnist.yaml, relative to the submission folder)
#   ALGORITHMS  comma-separated algorithms (default random,ours-wd-lr-m)
#   INITS       random initialisations per algorithm (default 20); every task must get the same value
#   SEED        seed that draws the initialisations (default 0); every task must get the same value
#   DATA_DIR    data folder (--data-dir), when the data is not where onepass looks by itself
#   PARALLEL    runs at once inside a task (default: the task's CPUs)
#   ONEPASS     the onepass command (default: onepass on PATH)
# Arguments after the script name go to `onepass sweep` as they are (e.g. --set hyperparameter_steps=500).
#SBATCH --job-name=onepass-sweep
#SBATCH --array=0-3
#SBATCH --cpus-per-task=4
#SBATCH --time=08:00:00
#SBATCH --output=onepass-sweep-%A_%a.out
set -euo pipefail

: "${SLURM_ARRAY_TASK_ID:?not in a SLURM array task: submit with sbatch --array=0-<N-1> (SLURM sets SLURM_ARRAY_TASK_ID)}"
: "${SWEEP_DIR:?set SWEEP_DIR to an output folder that every node can write}"
if [[ -n "${SLURM_ARRAY_TASK_STEP:-}" && "${SLURM_ARRAY_TASK_STEP}" != 1 ]]; then
    echo "sweep-array.sh: the array must be contiguous (--array=0-<N-1>), not step ${SLURM_ARRAY_TASK_STEP}" >&2
    exit 2
fi

# Shard i of N: i counts from the array's first index, N is the number of array tasks.
shards=${SLURM_ARRAY_TASK_COUNT:?SLURM did not set SLURM_ARRAY_TASK_COUNT}
shard=$(( SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-0} ))

args=(sweep
    --config "${CONFIG:-configs/fashion-mnist.yaml}"
    --algorithms "${ALGORITHMS:-random,ours-wd-lr-m}"
    --inits "${INITS:-20}"
    --seed "${SEED:-0}"
    --parallel "${PARALLEL:-${SLURM_CPUS_PER_TASK:-1}}"
    --shard "${shard}/${shards}"
    --out "${SWEEP_DIR}")
if [[ -n "${DATA_DIR:-}" ]]; then
    args+=(--data-dir "${DATA_DIR}")
fi

echo "sweep-array.sh: task ${SLURM_ARRAY_TASK_ID} runs shard ${shard}/${shards} into ${SWEEP_DIR}"
# shellcheck disable=SC2086 # ONEPASS may be a command with arguments, e.g. "dotnet /opt/onepass/onepass.dll"
exec ${ONEPASS:-onepass} "${args[@]}" "$@"
