#!/usr/bin/env bash
# Downloads Debian kernel debug packages for `configs/debian-local.toml`:
# the COUNT (default 2) newest ABI revisions of FLAVOR (default
# cloud-amd64), about 280 MB each, into DIR (default work/debs), keeping
# what is already there. Needs root for `apt-get update` (run as root or
# with sudo). The mirror is the one the machine's apt sources name.
#
#   scripts/get-debian-kernels.sh [DIR] [COUNT] [FLAVOR]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/debian-kernel.sh

dir=${1:-work/debs}
count=${2:-2}
flavor=${3:-cloud-amd64}
debian_newest_dbg_debs "$flavor" "$(dpkg --print-architecture)" "$dir" "$count"
