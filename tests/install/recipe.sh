#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The Yocto recipe's package lists against what `make install DESTDIR=`
# puts in a staged root: each installed file in exactly one package,
# each FILES entry matching something.  bitbake's folder variables are
# bound to this build's install folders.
# shellcheck source=tests/install/stage.sh
source "$(dirname "$0")/stage.sh"

root=$work/root
stage "$root"

export bb_prefix=$THAW_PREFIX bb_exec_prefix=$THAW_PREFIX
export bb_bindir=$THAW_BINDIR bb_sbindir=$THAW_SBINDIR
export bb_libdir=$THAW_LIBDIR bb_libexecdir=$THAW_LIBEXECDIR
export bb_includedir=$THAW_INCLUDEDIR bb_datadir=$THAW_DATADIR
export bb_mandir=$THAW_MANDIR bb_sysconfdir=$THAW_SYSCONFDIR
export bb_localstatedir=$THAW_LOCALSTATEDIR
export bb_nonarch_libdir=$THAW_PREFIX/lib
export bb_systemd_system_unitdir=$THAW_UNITDIR

export cmake_THAW_SYSTEMD_UNITDIR=$THAW_UNITDIR
export cmake_THAW_SYSUSERS_DIR=$THAW_SYSUSERS_DIR
export cmake_THAW_BASH_COMPLETION_DIR=$THAW_BASH_COMPLETION_DIR
export cmake_THAW_ZSH_COMPLETION_DIR=$THAW_ZSH_COMPLETION_DIR

recipe=$THAW_SOURCE_DIR/packaging/yocto/thaw_$THAW_VERSION.bb
[ -f "$recipe" ] || fail "no recipe for version $THAW_VERSION: $recipe"
python3 "$THAW_SOURCE_DIR/tests/install/check-recipe.py" "$recipe" "$root" \
	"$THAW_SOURCE_DIR" || fail "recipe and install disagree"
echo "recipe: all checks passed"
