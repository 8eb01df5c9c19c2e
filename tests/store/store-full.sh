# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Space: a tmpfs and an ext4 that fill up, byte budgets, and eviction of
# the images of the apps launched longest ago from the tmpfs tier.  A
# dump that does not fit fails cleanly: nothing partial is left and the
# previous image stays current.
. "$THAW_SOURCE_DIR/tests/store/store-lib.sh"
st_init 4m
th_persist_loop 16
MiB=$((1 << 20))

th_note "tmpfs file system full while the dump is written"
st_run 0 publish home 1 $MiB
st_run 5 publish home 2 $((5 * MiB))
st_no_leftovers
st_run 0 check home
st_has 'gen=1'

th_note "tmpfs budget exceeded at publish"
ST_OPTS+=(--tmpfs-budget $((3 * MiB / 2)))
st_run 5 publish home 3 $((2 * MiB))
st_has "does not fit the tmpfs tier's budget"
st_no_leftovers
st_run 0 check home
st_has 'gen=1'

th_note "over budget: apps launched longest ago leave tmpfs first"
ST_TMPFS_SIZE=64m
st_reboot
rm -rf "${ST_P:?}"/*
ST_OPTS=(--tmpfs "$ST_T" --persist "$ST_P" --tmpfs-budget $((7 * MiB / 2)))
for app in a b c; do
	st_run 0 publish $app 1 $MiB
	st_run 0 persist $app
done
st_run 0 publish u 1 $((MiB / 4)) # never persisted: never evicted
for app in u b c a; do
	st_run 0 open $app
	sleep 0.05
done
st_run 0 publish d 1 $MiB
[[ ! -e $ST_T/b/current && -e $ST_P/b/current ]] ||
	th_fail "b, the least recently launched, was not evicted to persistent"
[[ -e $ST_T/u/current ]] || th_fail "u had no persistent copy yet was evicted"
[[ -e $ST_T/c/current && -e $ST_T/a/current ]] || th_fail "evicted too much"
st_run 0 check b
st_has 'source=persistent'
[[ ! -e $ST_T/c/current ]] || th_fail "c was not evicted to make room for b"
st_run 0 describe

th_note "ext4 persistent tier full"
st_reboot
rm -rf "${ST_P:?}"/*
ST_OPTS=(--tmpfs "$ST_T" --persist "$ST_P")
st_run 0 publish home 1 $MiB
st_run 0 persist home
st_run 0 publish home 2 $((20 * MiB))
st_run 5 persist home
st_has 'No space left'
st_no_leftovers
st_reboot
st_run 0 check home
st_has 'gen=1'

th_note "persistent budget exceeded"
ST_OPTS+=(--persist-budget $((3 * MiB)))
st_run 0 publish home 3 $((4 * MiB))
st_run 5 persist home
st_has "does not fit the persistent tier's budget"
st_no_leftovers
st_reboot
st_run 0 check home
st_has 'gen=1'
th_note PASS
