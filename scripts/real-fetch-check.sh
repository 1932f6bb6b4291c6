#!/usr/bin/env bash
# Real fetch check: a current Debian cloud-amd64 -dbg package served from a
# loopback mirror built here (dpkg-scanpackages, a Release signed with a
# throwaway gpg key, python3 -m http.server on 127.0.0.1) is fetched by the
# fetcher (examples/fetch.rs: signed Release → hash-checked Packages →
# package size + SHA-256 → vmlinux), cached and streamed, and each vmlinux
# is compared byte for byte with `dpkg-deb --fsys-tarfile | tar -xO`.
#
#   KSURF_REAL_DEB=/path/to/linux-image-…-dbg_…_amd64.deb  use this package
#                                                          (else apt-get download)
#   KSURF_WORK=DIR                                         work directory (default: a temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/debian-kernel.sh

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
rm -rf "$mirror"
mkdir -p "$mirror/pool/main/l/linux" "$mirror/dists/$suite/main/binary-$arch"
ln -s "$(realpath "$deb")" "$mirror/pool/main/l/linux/$(basename "$deb")"
(cd "$mirror" && dpkg-scanpackages --multiversion pool /dev/null 2>/dev/null) \
	>"$mirror/dists/$suite/main/binary-$arch/Packages"
xz -k -f "$mirror/dists/$suite/main/binary-$arch/Packages"
{
	echo "Origin: ksurf-check"
	echo "Suite: $suite"
	echo "Codename: $suite"
	echo "Date: $(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S UTC')"
	echo "Valid-Until: $(LC_ALL=C date -u -d '+1 day' '+%a, %d %b %Y %H:%M:%S UTC')"
	echo "Architectures: $arch"
	echo "Components: main"
	echo "SHA256:"
	for f in Packages Packages.xz; do
		p="$mirror/dists/$suite/main/binary-$arch/$f"
		echo " $(sha256sum "$p" | cut -d' ' -f1) $(stat -c %s "$p") main/binary-$arch/$f"
	done
} >"$mirror/dists/$suite/Release"
gnupghome=$(mktemp -d)
export GNUPGHOME=$gnupghome
gpg --batch -q --passphrase '' --quick-gen-key 'ksurf real-fetch-check (throwaway)' ed25519 sign never
gpg --batch -q --yes --clearsign -o "$mirror/dists/$suite/InRelease" "$mirror/dists/$suite/Release"
gpg --batch -q --export >"$work/keyring.gpg"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$mirror" "$port" >"$work/http.log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; rm -rf "$gnupghome"; }
trap cleanup EXIT
for _ in $(seq 50); do
	python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/dists/$suite/Release')" 2>/dev/null && break
	sleep 0.1
done

echo "== reference: dpkg-deb --fsys-tarfile | tar -xO"
start=$(date +%s.%N)
dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/lib/debug/boot/vmlinux-$release" >"$work/vmlinux.dpkg"
end=$(date +%s.%N)
echo "dpkg-deb: $(awk "BEGIN{printf \"%.1f\", $end - $start}") s"

cat >"$work/config.toml" <<EOF
[[source]]
name = "loopback"
kind = "debian"
url = "http://127.0.0.1:$port"
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
	"$bin" fetch --config "$work/config.toml" --out "$out" --cache "$work/cache" \
		--dataset "$out/dataset" "${flag[@]}"
	end=$(date +%s.%N)
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
