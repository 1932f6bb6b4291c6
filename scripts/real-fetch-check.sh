#!/usr/bin/env bash
# Real fetch check: a current Debian cloud-amd64 -dbg package served from a
# loopback mirror built here (dpkg-scanpackages, a Release signed with a
# throwaway gpg key, scripts/lib/loopback-http.py on 127.0.0.1; see
# scripts/lib/loopback-mirror.sh) is fetched by `ksurf fetch` (signed
# Release → hash-checked Packages → package size + SHA-256 → vmlinux),
# cached and streamed, and each vmlinux
# is compared byte for byte with `dpkg-deb --fsys-tarfile | tar -xO`; each
# fetch must have stopped decompressing after the vmlinux (the package's
# SHA-256 comes from the signed index).
#
#   KSURF_REAL_DEB=/path/to/linux-image-…-dbg_…_amd64.deb  use this package
#                                                          (else apt-get download)
#   KSURF_WORK=DIR                                         work directory (default: a temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/debian-kernel.sh
. scripts/lib/loopback-mirror.sh

work=${KSURF_WORK:-$(mktemp -d)}
mkdir -p "$work"
deb=${KSURF_REAL_DEB:-}
if [ -z "$deb" ]; then
	deb=$(debian_dbg_deb cloud-amd64 amd64 "$work/download")
fi
name=$(dpkg-deb -f "$deb" Package)
arch=$(dpkg-deb -f "$deb" Architecture)
release=${name#linux-image-}
release=${release%-dbg}
echo "== package $name ($(stat -c %s "$deb") bytes), release $release"

echo "== loopback mirror"
mirror="$work/mirror"
suite=ksurf-check
loopback_mirror "$mirror" "$suite" "$work/keyring.gpg" "$deb"
trap loopback_stop EXIT
loopback_serve "$mirror" "$work/http.log"

echo "== reference: dpkg-deb --fsys-tarfile | tar -xO"
start=$(date +%s.%N)
dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/lib/debug/boot/vmlinux-$release" >"$work/vmlinux.dpkg"
end=$(date +%s.%N)
echo "dpkg-deb: $(awk "BEGIN{printf \"%.1f\", $end - $start}") s"

cat >"$work/config.toml" <<EOF
[[source]]
name = "loopback"
kind = "debian"
url = "$LOOPBACK_URL"
suites = ["$suite"]
components = ["main"]
arches = ["$arch"]
flavors = ["*"]
revision = "all"
keyring = "$work/keyring.gpg"
EOF
cargo build -q --release
bin=target/release/ksurf
"$bin" fetch --config "$work/config.toml" --plan
status=0
for mode in cached streamed; do
	out="$work/out-$mode"
	rm -rf "$out"
	flag=()
	[ "$mode" = streamed ] && flag=(--stream)
	start=$(date +%s.%N)
	# The unpacker's debug event says where it stopped decompressing.
	KSURF_LOG=warn,ksurf_fetcher::unpack=debug "$bin" fetch --config "$work/config.toml" \
		--out "$out" --cache "$work/cache" --dataset "$out/dataset" "${flag[@]}" 2>"$out.stderr" ||
		{ cat "$out.stderr" >&2; exit 1; }
	end=$(date +%s.%N)
	decompressed=$(sed 's/\x1b\[[0-9;]*m//g' "$out.stderr" |
		sed -n 's/.*stopped after the vmlinux.*decompressed=\([0-9]*\).*/\1/p; s/.*decompressed=\([0-9]*\).*stopped after the vmlinux.*/\1/p' | head -n1)
	if [ -n "$decompressed" ]; then
		echo "$mode: stopped decompressing after the vmlinux ($decompressed bytes of the data tar decompressed; the package's SHA-256 from the signed index covers the rest)"
	else
		echo "$mode: did not stop decompressing after the vmlinux" >&2
		cat "$out.stderr" >&2
		status=1
	fi
	got="$out/vmlinux/debian/$arch/vmlinux-$release"
	if cmp "$got" "$work/vmlinux.dpkg"; then
		echo "$mode: identical to dpkg-deb's ($(stat -c %s "$got") bytes) in $(awk "BEGIN{printf \"%.1f\", $end - $start}") s"
	else
		echo "$mode: DIFFERS from dpkg-deb's" >&2
		status=1
	fi
done
# The cached run left the package in the cache under its SHA-256.
sha=$(sha256sum "$deb" | cut -d' ' -f1)
if cmp "$work/cache/sha256/${sha:0:2}/$sha.deb" "$deb"; then
	echo "cache: holds the package under its SHA-256"
else
	echo "cache: package missing or different" >&2
	status=1
fi
rm -f "$work/vmlinux.dpkg"
rm -rf "$work"/out-* "$work/cache"
exit $status
