#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Installs into a staged root and checks the layout, the libraries'
# sonames and exported symbols, then builds and runs a program against
# the staged tree through pkg-config and through CMake's find_package.
# shellcheck source=tests/install/stage.sh
source "$(dirname "$0")/stage.sh"

root=$work/root
stage "$root"

expect_file()
{
	[ -f "$root$1" ] || fail "not installed: $1"
	echo "ok $1"
}

expect_exec()
{
	[[ -x "$root$1" && -f "$root$1" ]] || fail "no program at $1"
	echo "ok $1"
}

# Everything a distribution would look for, where it would look.
expect_exec "$THAW_SBINDIR/thawd"
expect_exec "$THAW_BINDIR/thawctl"
expect_exec "$THAW_BINDIR/hal-criu-conformance"
expect_file "$THAW_PLUGIN_DIR/thaw-devfd.so"
for h in thaw.h hal.h hal_criu.h; do
	expect_file "$THAW_INCLUDEDIR/thaw/$h"
done
expect_file "$THAW_LIBDIR/pkgconfig/thaw.pc"
expect_file "$THAW_LIBDIR/pkgconfig/hal-criu.pc"
expect_file "$THAW_LIBDIR/cmake/thaw/thawConfig.cmake"
expect_file "$THAW_LIBDIR/cmake/thaw/thawConfigVersion.cmake"
expect_file "$THAW_UNITDIR/thawd.service"
expect_file "$THAW_UNITDIR/thawd.socket"
expect_file "$THAW_SYSUSERS_DIR/thaw.conf"
expect_file "$THAW_SYSCONFDIR/default/thawd"
[ -d "$root$THAW_SYSCONFDIR/thaw/apps" ] || fail "no apps folder"
expect_file "$THAW_BASH_COMPLETION_DIR/thawctl"
for page in man1/thawctl.1 man8/thawd.8 man5/thaw-manifest.5 \
	man3/libthaw.3 man3/hal_criu.3; do
	expect_file "$THAW_MANDIR/$page"
done
for app in home inputcommon livemenu; do
	expect_exec "$THAW_LIBEXECDIR/thaw/examples/thaw-example-$app"
	expect_file "$THAW_DATADIR/thaw/examples/$app.json"
	grep -q "\"$THAW_LIBEXECDIR/thaw/examples/thaw-example-$app\"" \
		"$root$THAW_DATADIR/thaw/examples/$app.json" ||
		fail "$app.json does not start the installed thaw-example-$app"
done

# The installed programs run from where they are.
for prog in "$THAW_SBINDIR/thawd" "$THAW_BINDIR/thawctl"; do
	v=$(LD_LIBRARY_PATH=$root$THAW_LIBDIR "$root$prog" --version) ||
		fail "$prog --version"
	[ "$v" = "$(basename "$prog") $THAW_VERSION" ] ||
		fail "$prog --version says '$v'"
	echo "ok $v"
done

# Versioned shared libraries: the real file, the soname link for ld.so
# and the development link for the linker; only public symbols.
check_library()
{
	local name=$1 pattern=$2 lib=$root$THAW_LIBDIR/lib$1.so
	local soname bad

	[ -L "$lib" ] || fail "lib$name.so is not a symlink"
	[ -L "$lib.1" ] || fail "lib$name.so.1 is not a symlink"
	[ -f "$(readlink -f "$lib")" ] || fail "lib$name.so dangles"

	soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
	[ "$soname" = "lib$name.so.1" ] ||
		fail "lib$name: soname '$soname', want lib$name.so.1"

	# Version nodes show as absolute symbols (type A); skip them.
	bad=$(nm -D --defined-only "$lib" | awk '$2 != "A" { print $3 }' |
		grep -Ev "$pattern" || true)
	[ -z "$bad" ] || fail "lib$name exports private symbols: $bad"
	nm -D --defined-only "$lib" | awk '{ print $3 }' | grep -Eq "$pattern" ||
		fail "lib$name exports nothing"
	echo "ok lib$name.so.1: soname, public symbols only"
}
check_library thaw '^thaw_'
check_library hal-criu '^(hal_|HAL_CRIU_)'

# Nothing installed may still point into the build tree.
for f in "$root$THAW_SBINDIR/thawd" "$root$THAW_BINDIR/thawctl" \
	"$root$THAW_LIBDIR/libthaw.so.1" "$root$THAW_LIBDIR/libhal-criu.so.1"; do
	if readelf -d "$f" | grep -E 'R(UN)?PATH' | grep -q "$THAW_BUILD_DIR"; then
		fail "$f keeps a run path into the build tree"
	fi
done
if grep -rl "$THAW_BUILD_DIR" "$root$THAW_LIBDIR/pkgconfig" \
	"$root$THAW_LIBDIR/cmake" >/dev/null; then
	fail "pkg-config or CMake files name the build tree"
fi

# A program built through pkg-config against the staged tree only.
consumer=$THAW_SOURCE_DIR/tests/install/consumer
export PKG_CONFIG_LIBDIR=$root$THAW_LIBDIR/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$root
[ "$(pkg-config --modversion thaw)" = "$THAW_VERSION" ] ||
	fail "pkg-config thaw version"
flags=$(pkg-config --cflags --libs thaw hal-criu)
echo "pkg-config: $flags"
case "$flags" in
*"-I$root$THAW_INCLUDEDIR"*"-L$root$THAW_LIBDIR"*) ;;
*) fail "pkg-config flags do not point into the staged tree" ;;
esac
# shellcheck disable=SC2086
cc -Wall -Werror -DEXPECT_VERSION="\"$THAW_VERSION\"" \
	-o "$work/consumer-pc" "$consumer/consumer.c" $flags
LD_LIBRARY_PATH=$root$THAW_LIBDIR "$work/consumer-pc" ||
	fail "consumer built through pkg-config"
LD_LIBRARY_PATH=$root$THAW_LIBDIR ldd "$work/consumer-pc" |
	grep "$root$THAW_LIBDIR/libthaw.so.1" >/dev/null ||
	fail "consumer-pc does not run on the staged libthaw"
unset PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR

# The same through CMake: find_package(thaw) and the imported targets.
if ! cmake -S "$consumer" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$root$THAW_PREFIX" \
	-DEXPECT_VERSION="$THAW_VERSION" >"$work/cmake.log" 2>&1 ||
	! cmake --build "$work/cmake" >>"$work/cmake.log" 2>&1; then
	cat "$work/cmake.log" >&2
	fail "consumer built through find_package(thaw)"
fi
LD_LIBRARY_PATH=$root$THAW_LIBDIR "$work/cmake/consumer" ||
	fail "consumer built through CMake"
LD_LIBRARY_PATH=$root$THAW_LIBDIR ldd "$work/cmake/consumer" |
	grep "$root$THAW_LIBDIR/libhal-criu.so.1" >/dev/null ||
	fail "consumer (CMake) does not run on the staged libhal-criu"

echo "install tree: all checks passed"
