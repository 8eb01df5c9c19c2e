# SPDX-License-Identifier: LGPL-2.1-or-later
#
# One byte flipped, and one file truncated, in each kind of image file, in
# each tier: the store rejects the copy before anyone reads it, naming the
# file, and repairs from the other tier when that one is sound.
. "$THAW_SOURCE_DIR/tests/store/store-lib.sh"
st_init

kinds=(inventory.img core-1.img mm-1.img pagemap-1.img pages-1.img
	files.img fdinfo-2.img ids-1.img pstree.img fs-1.img tty-info.img
	stats-dump manifest.json manifest.hash)
gen=0

fresh() {
	gen=$((gen + 1))
	st_reboot
	rm -rf "$ST_P/home"
	st_run 0 publish home $gen 70000
	st_run 0 persist home
}

for kind in "${kinds[@]}"; do
	for fault in flip truncate; do
		th_note "tmpfs tier: $fault $kind"
		fresh
		"st_$fault" "$ST_T/home/current/$kind"
		# Alone (no persistent tier): rejected, naming the file.
		ST_OPTS=(--tmpfs "$ST_T")
		st_run 4 open home
		ST_OPTS=(--tmpfs "$ST_T" --persist "$ST_P")
		want=$kind
		[[ $kind == manifest.hash ]] && want='manifest\.(json|hash)'
		st_has "reason=.*$want" "rejection does not name $kind"
		st_run 0 check home
		st_has 'source=persistent'
		st_has "gen=$gen"

		th_note "persistent tier: $fault $kind"
		fresh
		zfile=$kind.zst
		[[ $kind == manifest.* ]] && zfile=$kind
		"st_$fault" "$ST_P/home/current/$zfile"
		st_reboot
		st_run 4 open home
		st_has "reason=.*$want" "rejection does not name $kind"
		st_run 0 has-image home
		st_has '^no'
		st_no_leftovers
	done
done
th_note PASS
