#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The formatter's verdict on every tracked C file, then cppcheck and
# clang-tidy over the compile database of BUILD_DIR.
#
# usage: scripts/lint.sh BUILD_DIR
set -euo pipefail

build_dir=${1:?usage: lint.sh BUILD_DIR}
mapfile -t files < <(git ls-files '*.c' '*.h')
status=0

clang-format --dry-run --Werror "${files[@]}" || status=1

if command -v cppcheck >/dev/null; then
	cppcheck --quiet --error-exitcode=1 --inline-suppr \
		--enable=warning,portability --std=c11 \
		--project="$build_dir/compile_commands.json" \
		-i"$build_dir" || status=1
fi

if command -v clang-tidy >/dev/null; then
	mapfile -t sources < <(git ls-files '*.c')
	clang-tidy --quiet -p "$build_dir" "${sources[@]}" 2>/dev/null || status=1
fi

exit $status
