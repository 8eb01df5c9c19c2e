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
# clang-tidy 14 carries state from one translation unit to the next in
# one process (va_start no longer seen, errors that are not there): so
# one file per run, and a database with one entry per file (a file built
# into two targets is otherwise analysed twice in a row).
if command -v clang-tidy >/dev/null; then
	tidy_db=$(mktemp -d)
	trap 'rm -rf "$tidy_db"' EXIT
	mapfile -t sources < <(python3 -c '
import json, os, sys
seen = {}
for e in json.load(open(sys.argv[1])):
    path = os.path.normpath(os.path.join(e["directory"], e["file"]))
    seen.setdefault(path, e)
json.dump(list(seen.values()), open(sys.argv[2], "w"))
for path in sorted(seen):
    print(os.path.relpath(path))
' "$build_dir/compile_commands.json" "$tidy_db/compile_commands.json")
	printf '%s\n' "${sources[@]}" |
		xargs -P "$(nproc)" -n 1 clang-tidy --quiet -p "$tidy_db" \
		2>/dev/null || status=1
fi

exit $status
