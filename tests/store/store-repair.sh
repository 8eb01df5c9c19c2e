# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Each repair the store makes, on fake images: tmpfs copy deleted, the
# persistent copy deleted or broken, both broken, an invalid mark, a
# changed executable or HAL version.
. "$THAW_SOURCE_DIR/tests/store/store-lib.sh"
st_init

exe=$TH_ROOT/app-exe
cp /bin/true "$exe"
ST_OPTS+=(--exe "$exe" --hal 1.0)

th_note "publish and persist"
st_run 0 publish home 1 300000
st_run 0 open home
st_has 'source=tmpfs'
st_has 'persistent copy missing'
st_run 0 needs-persist home
st_has '^yes'
st_run 0 persist home
st_run 0 needs-persist home
st_has '^no'

th_note "tmpfs copy deleted: brought back from the persistent copy"
rm -rf "$ST_T/home"
st_run 0 check home
st_has 'source=persistent'
st_has 'tmpfs copy restored from the persistent copy'
st_has 'gen=1'
st_run 0 check home
st_has 'source=tmpfs'

th_note "persistent copy deleted: noted, written again"
rm -rf "$ST_P/home"
st_run 0 open home
st_has 'persistent copy missing, to be written again'
st_run 0 needs-persist home
st_has '^yes'
st_run 0 persist home
st_reboot
st_run 0 check home
st_has 'source=persistent'

th_note "persistent copy truncated, tmpfs fine: discarded, rewritten"
st_truncate "$ST_P/home/current/pages-1.img.zst"
st_run 0 open home
st_has 'source=tmpfs'
st_has 'persistent copy discarded, to be written again: .*pages-1.img'
[[ ! -e $ST_P/home/current ]] || th_fail "broken persistent copy kept"
st_run 0 needs-persist home
st_has '^yes'
st_run 0 persist home
st_reboot
st_run 0 check home
st_has 'source=persistent'

th_note "persistent manifest unreadable, tmpfs fine"
echo garbage >"$ST_P/home/current/manifest.json"
st_run 0 open home
st_has 'persistent copy discarded.*manifest.json'
st_run 0 persist home

th_note "persistent byte changed, not yet verified since boot"
st_flip "$ST_P/home/current/core-1.img.zst"
rm -f "$ST_T"/home/verified-*
st_run 0 needs-persist home
st_has '^yes'
st_run 0 persist home
st_reboot
st_run 0 check home
st_has 'source=persistent'

th_note "persistent byte changed, tmpfs empty (after a boot): rejected"
st_flip "$ST_P/home/current/pages-1.img.zst"
st_reboot
st_run 4 open home
st_has 'reason=persistent copy: file pages-1.img'
st_has 'persistent copy discarded'
st_run 0 has-image home
st_has '^no'
th_note "... cold start and a new dump restore normally"
st_run 0 publish home 2 300000
st_run 0 persist home
st_reboot
st_run 0 check home
st_has 'gen=2'

th_note "both copies broken"
st_flip "$ST_T/home/current/mm-1.img"
st_flip "$ST_P/home/current/mm-1.img.zst"
st_run 4 open home
st_has 'tmpfs copy discarded: file mm-1.img'
st_has 'persistent copy discarded'
st_run 0 has-image home
st_has '^no'
st_no_leftovers

th_note "invalid mark: next launch dumps anew, failed images kept, bounded"
for gen in 3 4 5 6; do
	st_run 0 publish home $gen 100000
	st_run 0 persist home
	st_run 0 invalidate home "restore failed (test $gen)"
	st_run 3 open home
	st_has "reason=restore failed \\(test $gen\\)"
	st_run 0 has-image home
	st_has '^no'
done
st_run 0 publish home 7 100000
st_run 0 check home
st_has 'gen=7'
n=$(find "$ST_T/home" -maxdepth 1 -name 'failed-*' | wc -l)
((n == 2)) || th_fail "$n failed images kept in tmpfs, wanted 2"
for f in "$ST_T"/home/failed-*; do
	grep -q 'restore failed' "$f/invalid-reason" ||
		th_fail "failed image $f lacks its reason"
done
st_run 0 persist home
n=$(find "$ST_P/home" -maxdepth 1 -name 'failed-*' | wc -l)
((n == 2)) || th_fail "$n failed images kept in the persistent tier"

th_note "executable changed: stale, marked invalid"
touch -d '2001-01-01' "$exe"
st_run 3 open home
st_has "reason=executable $exe changed since the dump"
st_run 0 has-image home
st_has '^no'
st_run 0 publish home 8 100000
st_run 0 open home

th_note "HAL version changed: stale"
ST_OPTS+=(--hal 2.0)
st_run 3 open home
st_has 'reason=halVersion is now 2.0, the image was made with 1.0'

th_note "describe"
st_run 0 describe
st_has '"id": "home"'
st_no_leftovers
th_note PASS
