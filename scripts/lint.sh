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

# Only what this build compiles: the fuzz targets live in a clang tree.
# One file per clang-tidy run: clang-tidy 14 keeps state from one file
# to the next (va_start, free unrecognised in later files) and reports
# errors that are not there.
if command -v clang-tidy >/dev/null; then
	mapfile -t sources < <(python3 -c '
import json, os, sys
for e in json.load(open(sys.argv[1])):
    print(os.path.relpath(os.path.join(e["directory"], e["file"])))
' "$build_dir/compile_commands.json" | sort -u)
	printf '%s\n' "${sources[@]}" |
		xargs -P "$(nproc)" -n 1 clang-tidy --quiet -p "$build_dir" \
		2>/dev/null || status=1
fi

exit $status
