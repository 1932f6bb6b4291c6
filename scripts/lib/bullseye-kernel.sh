# Shared by scripts/ and bench/: obtain a Debian 11 (bullseye) kernel debug
# package, whose suite the machine's apt sources (bookworm) do not list.
# Source this file; it defines
#   bullseye_vmlinux FLAVOR WORKDIR
# which prints the path of vmlinux-<release> under WORKDIR, downloading the
# package only when that vmlinux is not there yet.
#
# The mirror is the one the machine's own apt configuration names (read from
# /etc/apt/sources.list and /etc/apt/sources.list.d/); no host is written
# here. The temporary bullseye source lives in a private apt state directory
# that is removed afterwards, so the machine's apt lists are not touched.

# The first main-archive URI of the machine's apt sources (not -security).
apt_mirror_uri() {
	local uri
	uri=$(
		{
			grep -hE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
				sed -E 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]]+([^[:space:]]+).*/\2 \3/'
			for f in /etc/apt/sources.list.d/*.sources; do
				[ -f "$f" ] || continue
				awk '/^URIs:/ {u=$2} /^Suites:/ {print u, $2} /^$/ {u=""}' "$f"
			done
		} | awk '$2 !~ /security|updates|backports/ && $1 ~ /debian\/?$/ {print $1; exit}'
	)
	if [ -z "$uri" ]; then
		echo "no Debian main archive URI in the machine's apt sources" >&2
		return 1
	fi
	echo "${uri%/}"
}

bullseye_vmlinux() {
	local flavor=$1 workdir=$2
	local arch uri apt_dir pkg release deb vmlinux
	arch=$(dpkg --print-architecture)
	mkdir -p "$workdir"
	uri=$(apt_mirror_uri) || return 1
	apt_dir=$(mktemp -d)
	mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri bullseye main" >"$apt_dir/sources.list"
	local apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/none"
		-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
		-o "APT::Architecture=$arch" -o "APT::Architectures::=$arch")
	if ! apt-get "${apt_opts[@]}" update -qq >&2; then
		echo "apt-get update of the temporary bullseye source failed" >&2
		rm -rf "$apt_dir"
		return 1
	fi
	pkg=$(apt-cache "${apt_opts[@]}" depends "linux-image-${flavor}-dbg" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[^ :]*-dbg\).*/\1/p' | head -n1)
	if [ -z "$pkg" ]; then
		echo "no package behind linux-image-${flavor}-dbg in bullseye" >&2
		rm -rf "$apt_dir"
		return 1
	fi
	release=${pkg#linux-image-}
	release=${release%-dbg}
	vmlinux="$workdir/vmlinux-$release"
	if [ ! -s "$vmlinux" ]; then
		(cd "$workdir" && apt-get "${apt_opts[@]}" download -q "$pkg" >&2)
		deb=$(ls -t "$workdir"/"${pkg}"_*.deb | head -n1)
		dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/lib/debug/boot/vmlinux-$release" >"$vmlinux.part"
		mv "$vmlinux.part" "$vmlinux"
		rm -f "$deb"
	fi
	rm -rf "$apt_dir"
	echo "$vmlinux"
}
