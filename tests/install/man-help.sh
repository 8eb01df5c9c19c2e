#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `thawctl --help`, thawctl(1) and the bash completion list the same
# commands, options, variables and exit statuses; `thawd --help` and
# thawd(8) the same options; thaw-manifest(5) and docs/manifest.md the
# same fields; every man page was built by scdoc.
# shellcheck source=tests/install/stage.sh
source "$(dirname "$0")/stage.sh"

here=$THAW_SOURCE_DIR/tests/install
thawctl=$THAW_BUILD_DIR/cli/thawctl
[ -x "$thawctl" ] || fail "no thawctl at $thawctl"

"$thawctl" --help >"$work/help.txt" || fail "thawctl --help exits $?"
[ -s "$work/help.txt" ] || fail "thawctl --help prints nothing"

bash "$here/complete-listing.sh" \
	"$THAW_SOURCE_DIR/packaging/completion/thawctl.bash" >"$work/completion.txt"
python3 "$here/help-vs-man.py" "$work/help.txt" \
	"$THAW_SOURCE_DIR/docs/man/thawctl.1.scd" "$work/completion.txt" ||
	fail "thawctl --help, thawctl(1) and the completion disagree"

# thawd's options against thawd(8).
thawd=$THAW_BUILD_DIR/daemon/thawd
[ -x "$thawd" ] || fail "no thawd at $thawd"
"$thawd" --help >"$work/thawd-help.txt" || fail "thawd --help exits $?"
python3 "$here/help-vs-man.py" --options-only "$work/thawd-help.txt" \
	"$THAW_SOURCE_DIR/docs/man/thawd.8.scd" ||
	fail "thawd --help and thawd(8) disagree"

# The manifest fields of thaw-manifest(5) against docs/manifest.md.
python3 "$here/manifest-fields.py" "$THAW_SOURCE_DIR/docs/manifest.md" \
	"$THAW_SOURCE_DIR/docs/man/thaw-manifest.5.scd" ||
	fail "thaw-manifest(5) and docs/manifest.md disagree"

for src in "$THAW_SOURCE_DIR"/docs/man/*.scd; do
	page=$(basename "$src" .scd)
	out=$THAW_BUILD_DIR/docs/man/$page
	[ -s "$out" ] || fail "man page $page not built"
	grep -q '^\.TH' "$out" || fail "$page is not a man page"
	[ "$out" -nt "$src" ] || fail "$page is older than its source"
	echo "ok $page"
done
echo "man pages and help: all checks passed"
