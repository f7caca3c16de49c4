#!/usr/bin/env bash
# Trains several seeds of one experiment on a CPU machine: one process per core, each pinned to
# its core (taskset) and niced, the next seed starting on a core when its seed finishes. On the
# 2-core CPU of this project two single-core processes train 13 % more epochs per hour than one
# process on both cores (mnist_gan: 18.2 s an epoch each, against 10.25 s for one; README).
# Every run resumes: stopped at any point (a session's end, Ctrl-C), the same command goes on.
# Workdirs are those of launch.reproduce, so that the table then only evaluates them:
#
#   launch/cpu_seeds.sh [-n NAME] [-c CORES] ROOT EXPERIMENT SEED... [-- EXTRA gan_jax.main FLAGS]
#   launch/cpu_seeds.sh /tmp/gan_jax_runs mnist_gan 0 1 2
#   python -m launch.reproduce --table=gan_parzen --row=MNIST --root=/tmp/gan_jax_runs
#
# -n NAME: workdirs ROOT/NAME/seed=S instead of ROOT/EXPERIMENT/seed=S (a variant of the
# experiment, e.g. -n mnist_gan-normal_prior ... -- --config.noise.prior=normal); -c CORES: the
# cores this driver may use ("1", "0 1"; default all), so that a second driver beside a first
# takes only the core that one leaves free.
# Logs: ROOT/NAME/seed=S.log. Exit status: 0 if every seed finished, else 1.
set -uo pipefail
name='' core_list=''
while getopts 'n:c:' option; do
  case $option in
    n) name=$OPTARG ;;
    c) core_list=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -lt 3 ]; then
  echo "usage: $0 [-n NAME] [-c CORES] ROOT EXPERIMENT SEED... [-- FLAGS]" >&2
  exit 2
fi
root=$1 experiment=$2
name=${name:-$experiment}
shift 2
seeds=() extra=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do seeds+=("$1"); shift; done
[ $# -gt 0 ] && shift && extra=("$@")
cd "$(dirname "$0")/.." || exit 1
[ -f "experiments/$experiment.py" ] || { echo "$0: no experiments/$experiment.py" >&2; exit 2; }
mkdir -p "$root/$name" || exit 1

read -r -a usable <<< "${core_list:-$(seq -s ' ' 0 $(($(nproc) - 1)))}"
cores=${#usable[@]}
declare -A on_core=()  # core -> pid
declare -A seed_of=()  # pid -> seed
status=0

start() {  # start SEED CORE
  local log="$root/$name/seed=$1.log"
  echo "seed $1 on core $2: log $log"
  nice -n 10 taskset -c "$2" python -m gan_jax.main --config="experiments/$experiment.py" \
    --config.seed="$1" --workdir="$root/$name/seed=$1" "${extra[@]}" >>"$log" 2>&1 &
  on_core[$2]=$! seed_of[$!]=$1
}

reap() {  # Waits for one run; frees its core.
  local pid rc core
  wait -n -p pid
  rc=$?
  for core in "${!on_core[@]}"; do [ "${on_core[$core]}" = "$pid" ] && unset "on_core[$core]"; done
  echo "seed ${seed_of[$pid]} exited with status $rc"
  [ "$rc" = 0 ] || status=1
}

trap 'kill -INT "${!seed_of[@]}" 2>/dev/null; wait; exit 130' INT TERM
for seed in "${seeds[@]}"; do
  while [ "${#on_core[@]}" -ge "$cores" ]; do reap; done
  for core in "${usable[@]}"; do
    [ -z "${on_core[$core]:-}" ] && { start "$seed" "$core"; break; }
  done
done
while [ "${#on_core[@]}" -gt 0 ]; do reap; done
exit $status
