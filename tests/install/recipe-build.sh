#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds thaw as the Yocto recipe does, short of bitbake: a fresh CMake
# tree configured with the folders cmake.bbclass passes for a Poky-like
# distribution and the recipe's own EXTRA_OECMAKE and PACKAGECONFIG
# arguments, nothing from the Makefile's set-up step (no CRIU path: the
# cache default stands) and no tests.  Then installs it into a staged
# root and checks the recipe's package lists against that.
# shellcheck source=tests/install/stage.sh
source "$(dirname "$0")/stage.sh"

recipe=$THAW_SOURCE_DIR/packaging/yocto/thaw_$THAW_VERSION.bb
check=$THAW_SOURCE_DIR/tests/install/check-recipe.py

# bitbake's folders without usrmerge.
export bb_prefix=/usr bb_exec_prefix=/usr bb_bindir=/usr/bin
export bb_sbindir=/usr/sbin bb_libdir=/usr/lib bb_libexecdir=/usr/libexec
export bb_includedir=/usr/include bb_datadir=/usr/share
export bb_mandir=/usr/share/man bb_sysconfdir=/etc bb_localstatedir=/var
export bb_nonarch_libdir=/usr/lib bb_base_libdir=/lib
export bb_systemd_system_unitdir=/lib/systemd/system

mapfile -t args < <(python3 "$check" --cmake-args "$recipe")
[ ${#args[@]} -gt 0 ] || fail "no CMake arguments in the recipe"

# What cmake.bbclass passes for those folders.
build=$work/build
# No build type: the flags are the distribution's CFLAGS (Poky's).
cflags="-O2 -pipe -g -feliminate-unused-debug-types -fstack-protector-strong"
cflags+=" -D_FORTIFY_SOURCE=2 -Wformat -Wformat-security"
cflags+=" -Werror=format-security"
if ! env -u THAW_CRIU CFLAGS="$cflags" cmake -S "$THAW_SOURCE_DIR" \
	-B "$build" \
	-DCMAKE_INSTALL_PREFIX:PATH=/usr \
	-DCMAKE_INSTALL_BINDIR:PATH=bin -DCMAKE_INSTALL_SBINDIR:PATH=sbin \
	-DCMAKE_INSTALL_LIBEXECDIR:PATH=libexec \
	-DCMAKE_INSTALL_SYSCONFDIR:PATH=/etc \
	-DCMAKE_INSTALL_LOCALSTATEDIR:PATH=../var \
	-DCMAKE_INSTALL_LIBDIR:PATH=lib -DCMAKE_INSTALL_INCLUDEDIR:PATH=include \
	-DCMAKE_INSTALL_DATAROOTDIR:PATH=share \
	-DCMAKE_INSTALL_SO_NO_EXE=0 -DCMAKE_EXPORT_NO_PACKAGE_REGISTRY=ON \
	"${args[@]}" >"$work/configure.log" 2>&1; then
	cat "$work/configure.log" >&2
	fail "configure as the recipe does"
fi
if grep -q criu-runtime "$build/CMakeCache.txt"; then
	fail "the recipe's build picked up the set-up step's CRIU runtime"
fi
if ! cmake --build "$build" -j "$(nproc)" >"$work/build.log" 2>&1; then
	tail -n 40 "$work/build.log" >&2
	fail "build as the recipe does"
fi
echo "ok configured and built with: ${args[*]}"
# Warnings do not fail a distribution build; list them for the log.
grep -h "warning:" "$work/build.log" | sort -u | sed 's/^/recipe build: /' ||
	true

root=$work/root
THAW_BUILD_DIR=$build stage "$root"

grep -qa "/usr/sbin/criu" "$root/usr/sbin/thawd" ||
	fail "thawd does not default to ${bb_sbindir}/criu"
grep -qa "/usr/lib/thaw/criu-plugins" "$root/usr/sbin/thawd" ||
	fail "thawd does not look for plugins in ${bb_libdir}/thaw/criu-plugins"

python3 "$check" "$recipe" "$root" "$THAW_SOURCE_DIR" ||
	fail "recipe and install disagree"
echo "recipe build: all checks passed"
