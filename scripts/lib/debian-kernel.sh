# Shared by scripts/ and bench/: obtain Debian kernel debug packages with
# apt and pull a vmlinux out. Source this file; it defines
#   debian_vmlinux FLAVOR DPKG_ARCH WORKDIR
# which prints the path of vmlinux-<release> under WORKDIR, downloading the
# package only when that vmlinux is not there yet. The mirror is whatever
# the machine's apt sources name; no host is written here.

debian_vmlinux() {
	local flavor=$1 arch=$2 workdir=$3
	local meta="linux-image-${flavor}-dbg" pkg release deb vmlinux
	mkdir -p "$workdir"
	debian_apt_ready "$arch"
	# The meta package depends on the current versioned debug package.
	pkg=$(apt-cache depends "${meta}:${arch}" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[^ :]*-dbg\).*/\1/p' | head -n1)
	if [ -z "$pkg" ]; then
		echo "no package behind ${meta}:${arch} in the apt sources" >&2
		return 1
	fi
	release=${pkg#linux-image-}
	release=${release%-dbg}
	vmlinux="$workdir/vmlinux-$release"
	if [ ! -s "$vmlinux" ]; then
		(cd "$workdir" && apt-get download -q "${pkg}:${arch}" >&2)
		deb=$(ls -t "$workdir"/"${pkg}"_*_"${arch}".deb | head -n1)
		dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/lib/debug/boot/vmlinux-$release" >"$vmlinux.part"
		mv "$vmlinux.part" "$vmlinux"
		rm -f "$deb"
	fi
	echo "$vmlinux"
}

#   debian_dbg_deb FLAVOR DPKG_ARCH WORKDIR
# prints the path of the current linux-image-<release>-dbg .deb for FLAVOR
# under WORKDIR, downloading it with apt-get when it is not there yet.
debian_dbg_deb() {
	local flavor=$1 arch=$2 workdir=$3 pkg deb
	mkdir -p "$workdir"
	if [ -z "${KSURF_APT_UPDATED:-}" ]; then
		apt-get update -qq >&2 || echo "apt-get update reported errors; continuing" >&2
		KSURF_APT_UPDATED=1
	fi
	pkg=$(apt-cache depends "linux-image-${flavor}-dbg:${arch}" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[^ :]*-dbg\).*/\1/p' | head -n1)
	if [ -z "$pkg" ]; then
		echo "no package behind linux-image-${flavor}-dbg:${arch} in the apt sources" >&2
		return 1
	fi
	deb=$(ls -t "$workdir"/"${pkg}"_*_"${arch}".deb 2>/dev/null | head -n1)
	if [ -z "$deb" ]; then
		(cd "$workdir" && apt-get download -q "${pkg}:${arch}" >&2)
		deb=$(ls -t "$workdir"/"${pkg}"_*_"${arch}".deb | head -n1)
	fi
	echo "$deb"
}

#   debian_apt_ready DPKG_ARCH
# makes apt able to download DPKG_ARCH packages (adding the architecture
# when foreign) and updates its lists once per shell.
debian_apt_ready() {
	local arch=$1
	if [ "$arch" != "$(dpkg --print-architecture)" ] &&
		! dpkg --print-foreign-architectures | grep -qx "$arch"; then
		dpkg --add-architecture "$arch"
		KSURF_APT_UPDATED=
	fi
	if [ -z "${KSURF_APT_UPDATED:-}" ]; then
		apt-get update -qq >&2 || echo "apt-get update reported errors; continuing" >&2
		KSURF_APT_UPDATED=1
	fi
}

#   debian_named_deb PACKAGE DPKG_ARCH WORKDIR [SEARCH_DIR...]
# prints the path of PACKAGE's .deb for DPKG_ARCH: the newest one found in
# WORKDIR or a SEARCH_DIR, else one apt-get downloads into WORKDIR.
debian_named_deb() {
	local pkg=$1 arch=$2 workdir=$3 dir deb
	shift 3
	mkdir -p "$workdir"
	for dir in "$workdir" "$@"; do
		deb=$(ls -t "$dir"/"${pkg}"_*_"${arch}".deb 2>/dev/null | head -n1 || true)
		if [ -n "$deb" ]; then
			echo "$deb"
			return 0
		fi
	done
	debian_apt_ready "$arch"
	(cd "$workdir" && apt-get download -q "${pkg}:${arch}" >&2) || {
		echo "apt-get download ${pkg}:${arch} failed" >&2
		return 1
	}
	ls -t "$workdir"/"${pkg}"_*_"${arch}".deb | head -n1
}

#   debian_newest_dbg_debs FLAVOR DPKG_ARCH WORKDIR COUNT
# prints the paths of the COUNT highest ABI revisions of the versioned
# linux-image-<abi>-FLAVOR-dbg packages the apt sources list, oldest first,
# downloading into WORKDIR those not there yet.
debian_newest_dbg_debs() {
	local flavor=$1 arch=$2 workdir=$3 count=$4 pkg pkgs
	debian_apt_ready "$arch"
	pkgs=$(apt-cache search --names-only "^linux-image-[0-9.]+-[0-9]+-${flavor}-dbg\$" |
		awk '{print $1}' | sort -V | tail -n "$count")
	if [ -z "$pkgs" ]; then
		echo "no linux-image-*-${flavor}-dbg package in the apt sources" >&2
		return 1
	fi
	for pkg in $pkgs; do
		debian_named_deb "$pkg" "$arch" "$workdir"
	done
}
