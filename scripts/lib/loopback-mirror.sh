# Shared by scripts/ and bench/: a Debian-format archive on loopback, so
# that `ksurf fetch` and `ksurf run` download real packages over HTTP and
# check a signed Release without reaching any outside host. Source this
# file; it defines
#
#   loopback_mirror MIRROR SUITE KEYRING DEB...
#       builds the archive in MIRROR (emptied first): each DEB symlinked
#       under pool/main/l/linux/, one Packages (+ .xz) per architecture the
#       DEBs have (dpkg-scanpackages), a Release listing them with their
#       SHA-256, clear-signed into InRelease with a throwaway ed25519 key
#       made in a temporary GNUPGHOME (deleted again), whose public key is
#       written to KEYRING (the config's `keyring`).
#
#   loopback_serve MIRROR LOG [RATE]
#       serves MIRROR with scripts/lib/loopback-http.py (http.server, one
#       thread per connection) on a free 127.0.0.1 port, logging to LOG;
#       RATE (bytes per second, default 0: no cap) caps the total bandwidth
#       of all downloads, a stand-in for a remote archive. Sets LOOPBACK_URL
#       (http://127.0.0.1:PORT) and LOOPBACK_PID, and returns once the
#       server answers. Stop it with loopback_stop (e.g. from an EXIT trap).
#
#   loopback_stop
#       stops the server loopback_serve started, if it runs.

loopback_mirror() {
	local mirror=$1 suite=$2 keyring=$3
	shift 3
	local deb arch arches=() f p gnupghome
	rm -rf "$mirror"
	mkdir -p "$mirror/pool/main/l/linux"
	for deb in "$@"; do
		ln -s "$(realpath "$deb")" "$mirror/pool/main/l/linux/$(basename "$deb")"
		arch=$(dpkg-deb -f "$deb" Architecture)
		case " ${arches[*]} " in *" $arch "*) ;; *) arches+=("$arch") ;; esac
	done
	for arch in "${arches[@]}"; do
		mkdir -p "$mirror/dists/$suite/main/binary-$arch"
		(cd "$mirror" && dpkg-scanpackages --multiversion --arch "$arch" pool /dev/null 2>/dev/null) \
			>"$mirror/dists/$suite/main/binary-$arch/Packages"
		xz -k -f "$mirror/dists/$suite/main/binary-$arch/Packages"
	done
	{
		echo "Origin: ksurf-loopback"
		echo "Suite: $suite"
		echo "Codename: $suite"
		echo "Date: $(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S UTC')"
		echo "Valid-Until: $(LC_ALL=C date -u -d '+1 day' '+%a, %d %b %Y %H:%M:%S UTC')"
		echo "Architectures: ${arches[*]}"
		echo "Components: main"
		echo "SHA256:"
		for arch in "${arches[@]}"; do
			for f in Packages Packages.xz; do
				p="$mirror/dists/$suite/main/binary-$arch/$f"
				echo " $(sha256sum "$p" | cut -d' ' -f1) $(stat -c %s "$p") main/binary-$arch/$f"
			done
		done
	} >"$mirror/dists/$suite/Release"
	gnupghome=$(mktemp -d)
	GNUPGHOME=$gnupghome gpg --batch -q --passphrase '' \
		--quick-gen-key 'ksurf loopback mirror (throwaway)' ed25519 sign never
	GNUPGHOME=$gnupghome gpg --batch -q --yes --clearsign \
		-o "$mirror/dists/$suite/InRelease" "$mirror/dists/$suite/Release"
	GNUPGHOME=$gnupghome gpg --batch -q --export >"$keyring"
	rm -rf "$gnupghome"
}

loopback_serve() {
	local mirror=$1 log=$2 rate=${3:-0} port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	python3 "$(dirname "${BASH_SOURCE[0]}")/loopback-http.py" "$mirror" "$port" "$rate" >"$log" 2>&1 &
	LOOPBACK_PID=$!
	LOOPBACK_URL="http://127.0.0.1:$port"
	for _ in $(seq 50); do
		python3 -c "import urllib.request; urllib.request.urlopen('$LOOPBACK_URL/')" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "loopback mirror server on $LOOPBACK_URL did not answer (log: $log)" >&2
	return 1
}

loopback_stop() {
	if [ -n "${LOOPBACK_PID:-}" ]; then
		kill "$LOOPBACK_PID" 2>/dev/null || true
		wait "$LOOPBACK_PID" 2>/dev/null || true
		LOOPBACK_PID=
	fi
}
