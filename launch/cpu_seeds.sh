#!/usr/bin/env bash
# Trains several seeds of one experiment on a CPU machine: one process per core, each pinned to
# its core (taskset) and niced, the next seed starting on a core when its seed finishes. On the
# 2-core CPU of this project two single-core processes train 13 % more epochs per hour than one
# process on both cores (mnist_gan: 18.2 s an epoch each, against 10.25 s for one;
# docs/reproductions.md).
# Once no seed is left to start, a core that frees up goes to a seed still training: the run is
# stopped with SIGTERM (it checkpoints the step reached; exit 143) and resumed pinned to its cores
# and the free ones (XLA sizes its thread pool when a process starts, so a running process
# cannot simply be given another core). The last seed of a row then trains on every core: on
# this 2-core CPU mnist_gan's epoch takes 10.25 s on both cores against 18.2 s on one.
# -1: each seed keeps one core to the end.
# Every run resumes: stopped at any point (a session's end, Ctrl-C, SIGTERM to this driver), the
# same command goes on.
# Workdirs are those of launch.reproduce, so that the table then only evaluates them:
#
#   launch/cpu_seeds.sh [-n NAME] [-c CORES] [-1] ROOT EXPERIMENT SEED...
#       [-- EXTRA gan_jax.main FLAGS]
#   launch/cpu_seeds.sh /tmp/gan_jax_runs mnist_gan 0 1 2
#   python -m launch.reproduce --table=gan_parzen --row='GAN, MNIST' --root=/tmp/gan_jax_runs
#
# Flags after -- name the workdir as launch.sweep names a point's: `... mnist_gan 0 --
# --config.noise.prior=normal` trains in ROOT/mnist_gan/noise.prior=normal,seed=0, where
# launch.reproduce finds gan_parzen's row 'GAN, MNIST, z ~ N(0, I)'. As a table row's, the
# workdir is named by the flags that make another run only: those of keys a run may change on
# resume (its length, what it evaluates: gan_jax/workdir.py's RESUMABLE_KEYS and
# RESUMABLE_PREFIXES, listed below) are passed on without naming it, so that
#   launch/cpu_seeds.sh ROOT mnist_gan 0 1 2 -- --config.early_stopping.patience=0
# trains the row 'GAN, MNIST' (to the cap) in ROOT/mnist_gan/seed=S.
# -n NAME: workdirs under ROOT/NAME instead of ROOT/EXPERIMENT; -c CORES: the cores this driver
# may use ("1", "0 1"; default all), so that a second driver beside a first takes only the core
# that one leaves free.
# Logs: beside each workdir, <workdir>.log. Exit status: 0 if every seed finished, else 1.
set -uo pipefail
resumable_keys=' num_train_steps log_every_steps checkpoint_every_steps sample_every_steps
  keep_checkpoints keep_checkpoint_steps max_abs_loss steps_per_call call_form seeds
  population_form data.verify '
resumable_prefixes='early_stopping. eval.'
name='' core_list='' widen=1
while getopts 'n:c:1' option; do
  case $option in
    n) name=$OPTARG ;;
    c) core_list=$OPTARG ;;
    1) widen=0 ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -lt 3 ]; then
  echo "usage: $0 [-n NAME] [-c CORES] [-1] ROOT EXPERIMENT SEED... [-- FLAGS]" >&2
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
  key=${pair%%=*}
  [[ $resumable_keys == *[[:space:]]$key[[:space:]]* ]] && continue  # Its length: not named.
  for prefix in $resumable_prefixes; do [[ $key == "$prefix"* ]] && continue 2; done
  variant+="$pair,"
done
cd "$(dirname "$0")/.." || exit 1
[ -f "experiments/$experiment.py" ] || { echo "$0: no experiments/$experiment.py" >&2; exit 2; }
mkdir -p "$root/$name" || exit 1

read -r -a usable <<< "${core_list:-$(seq -s ' ' 0 $(($(nproc) - 1)))}"
cores=${#usable[@]}
nice=10
# Run by the run's shell in its new session: the group's nice value (/proc/self/autogroup, where
# the kernel has one: "/autogroup-274 nice 0"; a sandbox's may read empty) made the run's, this
# driver's plus $nice (at most 19); without privileges one write per 100 ms is taken
# machine-wide, so runs starting at once retry.
lower_group='n=$(($(nice) + $0)); [ "$n" -gt 19 ] && n=19
  grep -qs " nice " /proc/self/autogroup && for _ in {1..50}; do
  { echo "$n" > /proc/self/autogroup; } 2>/dev/null && break; sleep 0.1; done;'
declare -A on_core=()  # core -> pid
declare -A seed_of=()  # pid -> seed
status=0

start() {  # start SEED CORES (comma-separated)
  local workdir="$root/$name/${variant}seed=$1" core where="core $2"
  [[ $2 == *,* ]] && where="cores $2"
  echo "seed $1 on $where: log $workdir.log"
  # In a session of its own (setsid and bash exec: $! is the run's): a terminal's Ctrl-C reaches
  # this driver alone, which passes it on once (a second SIGINT stops gan_jax.main without its
  # checkpoint). The session's scheduling group is niced too, or the nice value would rank the
  # run only inside it and it would take as much CPU as a terminal (launch/priority.py).
  setsid bash -c "$lower_group"' exec nice -n "$0" taskset -c "$@"' "$nice" "$2" \
    python -m gan_jax.main --config="experiments/$experiment.py" --config.seed="$1" \
    --workdir="$workdir" "${extra[@]}" >>"$workdir.log" 2>&1 &
  for core in ${2//,/ }; do on_core[$core]=$!; done
  seed_of[$!]=$1
}

forget() {  # forget PID: frees its cores.
  local core
  for core in "${!on_core[@]}"; do [ "${on_core[$core]}" = "$1" ] && unset "on_core[$core]"; done
  unset "seed_of[$1]"
}

release() {  # release PID STATUS: reports its exit, frees its cores.
  echo "seed ${seed_of[$1]} exited with status $2"
  [ "$2" = 0 ] || status=1
  forget "$1"
}

reap() {  # Waits for one run; frees its cores.
  local pid rc
  wait -n -p pid
  rc=$?
  release "$pid" "$rc"
}

cores_of() {  # The cores a run (PID, or '' for none) holds, comma-separated, in order.
  local core held=()
  for core in "${usable[@]}"; do [ "${on_core[$core]:-}" = "$1" ] && held+=("$core"); done
  (IFS=,; echo "${held[*]}")
}

widen() {  # Gives the free cores to the run holding fewest: stopped with SIGTERM, resumed.
  local free pid fewest='' least count rc seed held
  free=$(cores_of '')
  [ -n "$free" ] || return 0
  for pid in "${!seed_of[@]}"; do
    held=$(cores_of "$pid")
    count=$(($(tr -cd , <<< "$held" | wc -c) + 1))
    if [ -z "$fewest" ] || [ "$count" -lt "$least" ]; then fewest=$pid least=$count; fi
  done
  [ -n "$fewest" ] || return 0
  seed=${seed_of[$fewest]} held=$(cores_of "$fewest")
  echo "seed $seed: free core(s) $free; stopping it (SIGTERM: it checkpoints) to resume there too"
  kill -TERM "$fewest" 2>/dev/null
  wait "$fewest"
  rc=$?
  if [ "$rc" = 143 ]; then  # Stopped as asked: resumed on its cores and the free ones.
    forget "$fewest"
    start "$seed" "$(echo "$held,$free" | tr , '\n' | sort -n | paste -sd, -)"
  else  # It ended by itself meanwhile.
    release "$fewest" "$rc"
  fi
}

stop() {  # stop SIGNAL STATUS: passes the signal on to the runs (each checkpoints), then exits.
  kill -"$1" $(jobs -p) 2>/dev/null  # (Also a run started just before the signal came.)
  wait
  exit "$2"
}
# A driver started in the background (nohup ... &) ignores SIGINT: stop it with SIGTERM, which
# each run gets in turn.
trap 'stop INT 130' INT
trap 'stop TERM 143' TERM
for i in "${!seeds[@]}"; do
  while [ "${#on_core[@]}" -ge "$cores" ]; do reap; done
  free=$(cores_of '')
  # The last seed takes every free core (unless -1); the others one each.
  [ "$widen" = 1 ] && [ "$i" = $((${#seeds[@]} - 1)) ] || free=${free%%,*}
  start "${seeds[$i]}" "$free"
done
while [ "${#seed_of[@]}" -gt 0 ]; do
  [ "$widen" = 1 ] && widen
  [ "${#seed_of[@]}" -gt 0 ] && reap
done
exit $status
