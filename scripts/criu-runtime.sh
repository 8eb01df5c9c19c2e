#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Provides the CRIU binary that thaw uses and writes its path to
# DEST/criu-path.
#
# A criu on PATH is used when it is 4.2 or newer and passes `criu check`.
# Otherwise Debian testing's criu and the libraries it needs (its own glibc
# among them) are unpacked into DEST/root, and the binary is pointed at
# that loader and library folder, so the system's glibc and apt set-up are
# never touched.  A tree left by an earlier run is checked against the
# checksums recorded when it was made, then by `criu check`; anything
# wrong and it is made again.
#
# usage: scripts/criu-runtime.sh DEST
set -euo pipefail

dest=$(realpath -m "${1:?usage: criu-runtime.sh DEST}")
min_version=4.2
root=$dest/root
binary=$root/usr/sbin/criu
libdir=$root/usr/lib/x86_64-linux-gnu

say() { echo "criu-runtime: $*" >&2; }

version_of() {
	"$1" --version 2>/dev/null | awk '/^Version:/ { print $2 }'
}

is_usable() {
	local v
	v=$(version_of "$1")
	[ -n "$v" ] || return 1
	[ "$(printf '%s\n%s\n' "$min_version" "$v" | sort -V | head -n1)" = "$min_version" ] || return 1
	"$1" check >/dev/null 2>&1
}

publish() {
	mkdir -p "$dest"
	echo "$1" >"$dest/criu-path.new"
	mv "$dest/criu-path.new" "$dest/criu-path"
	say "using $1 (CRIU $(version_of "$1"))"
}

system_criu=$(command -v criu || true)
if [ -n "$system_criu" ] && is_usable "$system_criu"; then
	publish "$system_criu"
	exit 0
fi

if [ -f "$dest/SHA256SUMS" ] && [ -x "$binary" ] &&
	(cd "$root" && sha256sum --quiet --strict -c ../SHA256SUMS) >/dev/null 2>&1 &&
	is_usable "$binary"; then
	publish "$binary"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	say "no usable CRIU $min_version+ and not root: cannot install one"
	exit 1
fi

say "installing Debian testing's criu into $root"
rm -rf "$dest"
apt_dir=$dest/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" \
	"$dest/debs" "$root"

# The same mirror the system already uses, with the testing suite.
mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
if [ -z "$mirror" ]; then
	mirror=$(awk '$1 == "deb" && $2 !~ /^\[/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
fi
if [ -z "$mirror" ]; then
	say "no Debian mirror found in the system's apt sources"
	exit 1
fi
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror testing main" \
	>"$apt_dir/sources.list"

apt_opts=(
	-o "Dir::Etc::SourceList=$apt_dir/sources.list"
	-o "Dir::Etc::SourceParts=/dev/null"
	-o "Dir::State::Lists=$apt_dir/lists"
	-o "Dir::Cache=$apt_dir/cache"
	-o "APT::Sandbox::User=root"
)
apt-get -qq "${apt_opts[@]}" update

# criu and everything it depends on, libraries only: what testing builds
# against its own glibc must come from testing.
mapfile -t debs < <(apt-cache "${apt_opts[@]}" depends --recurse \
	--no-recommends --no-suggests --no-conflicts --no-breaks \
	--no-replaces --no-enhances criu | grep -v '^[ <]' | sort -u)
(cd "$dest/debs" && apt-get -qq "${apt_opts[@]}" download "${debs[@]}")

for deb in "$dest"/debs/*.deb; do
	dpkg-deb -x "$deb" "$root"
done

patchelf --set-interpreter "$libdir/ld-linux-x86-64.so.2" \
	--force-rpath --set-rpath "$libdir" "$binary"

if ! is_usable "$binary"; then
	say "the installed criu ($(version_of "$binary")) fails 'criu check':"
	"$binary" check >&2 || true
	exit 1
fi

rm -rf "$dest/debs" "$apt_dir"
(cd "$root" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$dest/SHA256SUMS"
publish "$binary"
