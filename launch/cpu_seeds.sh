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
#   python -m launch.reproduce --table=gan_parzen --row='GAN, MNIST' --root=/tmp/gan_jax_runs
#
# Flags after -- name the workdir as launch.sweep names a point's: `... mnist_gan 0 --
# --config.noise.prior=normal` trains in ROOT/mnist_gan/noise.prior=normal,seed=0, where
# launch.reproduce finds gan_parzen's row 'GAN, MNIST, z ~ N(0, I)'. (A table row's workdir is
# named by the flags that make another run only, not by those of its length: num_train_steps,
# early_stopping.*, eval.*; give those to the row in launch/tables.py.)
# -n NAME: workdirs under ROOT/NAME instead of ROOT/EXPERIMENT; -c CORES: the cores this driver
# may use ("1", "0 1"; default all), so that a second driver beside a first takes only the core
# that one leaves free.
# Logs: beside each workdir, <workdir>.log. Exit status: 0 if every seed finished, else 1.
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
# The workdir's name: each --config.KEY=VALUE as KEY=VALUE, in key order, then seed=S
# (launch/overrides.py's name() for values of plain characters).
variant=''
for flag in $(printf '%s\n' "${extra[@]}" | LC_ALL=C sort); do
  case $flag in
    --config.*=*) ;;
    *) echo "$0: after --, give --config.KEY=VALUE flags only, not $flag" >&2; exit 2 ;;
  esac
  pair=${flag#--config.}
  [[ $pair =~ ^[A-Za-z0-9._+-]+=[A-Za-z0-9._+-]+$ ]] || {
    echo "$0: $flag: use launch.sweep for values with characters other than A-Z a-z 0-9 . _ + -" >&2
    exit 2; }
  variant+="$pair,"
done
cd "$(dirname "$0")/.." || exit 1
[ -f "experiments/$experiment.py" ] || { echo "$0: no experiments/$experiment.py" >&2; exit 2; }
mkdir -p "$root/$name" || exit 1

read -r -a usable <<< "${core_list:-$(seq -s ' ' 0 $(($(nproc) - 1)))}"
cores=${#usable[@]}
declare -A on_core=()  # core -> pid
declare -A seed_of=()  # pid -> seed
status=0

start() {  # start SEED CORE
  local workdir="$root/$name/${variant}seed=$1"
  echo "seed $1 on core $2: log $workdir.log"
  nice -n 10 taskset -c "$2" python -m gan_jax.main --config="experiments/$experiment.py" \
    --config.seed="$1" --workdir="$workdir" "${extra[@]}" >>"$workdir.log" 2>&1 &
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
