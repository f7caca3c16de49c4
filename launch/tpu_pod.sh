#!/usr/bin/env bash
# Prepares this checkout on a TPU VM worker: .venv with requirements.txt and jax[tpu] at the
# pinned jax version, then checks that JAX sees the TPU.
#
# Usage, on every worker of the TPU VM at once, after copying the checkout to ~/gan_jax on each
# (`python -m launch.sweep --executor=print --print_as=tpu_pod --tpu_name=NAME ...` prints the
# copy commands, e.g. with `gcloud compute tpus tpu-vm scp --recurse . NAME:~/gan_jax --worker=all`
# from a checkout without .venv):
#   gcloud compute tpus tpu-vm ssh NAME --zone=ZONE --worker=all \
#     --command='bash gan_jax/launch/tpu_pod.sh'
# Then run the sweep: python -m launch.sweep --config=experiments/X.py --executor=tpu_pod \
#   --tpu_name=NAME --zone=ZONE --root=SHARED_DIR
#
# Safe to run again: an existing working .venv is kept and pip skips what is installed.
# Environment: PYTHON (default python3) must be Python >= 3.11, the version the pins need; on an
# older TPU VM image install one first (e.g. apt-get install python3.11-venv) and set
# PYTHON=python3.11.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
LIBTPU_RELEASES=https://storage.googleapis.com/jax-releases/libtpu_releases.html

fail() {
  echo "tpu_pod.sh: error: $*" >&2
  exit 1
}

jax_version="$(sed -n 's/^jax==\([0-9][0-9.]*\).*/\1/p' requirements.txt)"
[ -n "${jax_version}" ] || fail "requirements.txt pins no jax==VERSION"
command -v "${PYTHON}" >/dev/null || fail "${PYTHON} not found; set PYTHON to a Python >= 3.11"
"${PYTHON}" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || fail "$("${PYTHON}" --version 2>&1) is too old for requirements.txt; install Python >= 3.11" \
          "(e.g. apt-get install python3.11-venv) and rerun with PYTHON=python3.11"

# A .venv copied from another machine (or half-made) does not run here: make a new one.
if ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  rm -rf .venv
  "${PYTHON}" -m venv .venv || fail "cannot create .venv (on Debian/Ubuntu: apt-get install" \
                                    "python3-venv, or the python3.X-venv of your PYTHON)"
fi
# shellcheck disable=SC1091
. .venv/bin/activate
pip install -q --upgrade pip
pip install -q -r requirements.txt
pip install -q "jax[tpu]==${jax_version}" -f "${LIBTPU_RELEASES}"

# All workers run this at once; each reports its share of the pod's devices.
python -c 'import sys, jax
platform = jax.devices()[0].platform
print(f"worker {jax.process_index()}: jax {jax.__version__}, {jax.local_device_count()} local of "
      f"{jax.device_count()} devices ({platform})")
sys.exit(platform != "tpu")' \
  || fail "JAX sees no TPU here: run this on a TPU VM, with no other process holding the TPU"
