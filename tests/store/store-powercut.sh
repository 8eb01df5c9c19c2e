# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A power cut while the persistent copy is written: the persistent tier is
# a small ext4 on a loop device, shut down (no log flush, as a power cut)
# under the copying process, at each step and at random moments (seed
# printed; ST_SEED=N repeats a run), then unmounted, checked by e2fsck and
# mounted again, with an empty tmpfs as after a boot.  The store then
# restores the previous image or the new one, whole.
. "$THAW_SOURCE_DIR/tests/store/store-lib.sh"
st_init
th_persist_loop 64
dev=${TH_LOOPS[-1]}
size=$((6 << 20))

stopped() {
	[[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == T ]]
}

power_cut() {
	xfs_io -x -c shutdown "$ST_P" || th_fail "shutdown ioctl failed"
}

after_cut() {
	local gen=$1 rc=0
	umount "$ST_P" || th_fail "cannot unmount the shut-down ext4"
	# A mount namespace made meanwhile by another program (CRIU makes
	# some) holds the file system until it goes: wait for it.
	for _ in $(seq 100); do
		rc=0
		e2fsck -fy "$dev" >"$TH_ROOT/fsck.log" 2>&1 || rc=$?
		grep -q 'is in use' "$TH_ROOT/fsck.log" || break
		sleep 0.1
	done
	((rc < 4)) || th_fail "e2fsck exited $rc: $(cat "$TH_ROOT/fsck.log")"
	mount "$dev" "$ST_P" || th_fail "cannot mount $dev again"
	st_reboot
	st_run 0 check home
	st_has "gen=($gen|$((gen + 1)))" "wanted gen $gen or $((gen + 1))"
	st_no_leftovers
}

gen=0
round() {
	gen=$((gen + 10))
	st_run 0 publish home $gen $size
	st_run 0 persist home
	st_run 0 publish home $((gen + 1)) $size
}

for step in after-write after-sync after-rename after-swap; do
	th_note "power cut at persist:$step"
	round
	THAW_STORE_STOP_AT=persist:$step "$ST_TOOL" "${ST_OPTS[@]}" \
		persist home >"$TH_ROOT/persist.log" 2>&1 &
	pid=$!
	th_wait_until 20 stopped $pid || th_fail "persist never reached $step"
	power_cut
	kill -CONT $pid
	wait $pid
	th_note "persist after the cut: exit $?: $(cat "$TH_ROOT/persist.log")"
	after_cut $gen
done

seed=${ST_SEED:-$((RANDOM * 32768 + RANDOM))}
th_note "power cuts at random moments, seed $seed"
RANDOM=$seed
for r in 1 2 3 4; do
	round
	delay=$(printf '0.%03d' $((RANDOM % 150)))
	"$ST_TOOL" "${ST_OPTS[@]}" persist home >"$TH_ROOT/persist.log" 2>&1 &
	pid=$!
	sleep "$delay"
	power_cut
	wait $pid
	th_note "cut after ${delay}s: persist exit $?: $(cat "$TH_ROOT/persist.log")"
	after_cut $gen
done
th_note PASS
