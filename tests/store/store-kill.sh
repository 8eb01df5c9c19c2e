# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The store's process killed (SIGKILL) at each step of publishing, of
# copying to the persistent tier and of repairing from it, then at random
# points (seed printed; ST_SEED=N repeats a run).  After each, reopening
# the store finds the old image or the new one, whole, never a mix, and
# no folder left half-written.
. "$THAW_SOURCE_DIR/tests/store/store-lib.sh"
st_init

steps=(after-write after-sync after-rename after-swap after-dirsync)

# Gen the current image must have once the step was reached.
want_gen() {
	case $1 in
	after-swap | after-dirsync) echo "$2" ;;
	*) echo "$3" ;;
	esac
}

base() {
	st_reboot
	rm -rf "$ST_P/home"
	st_run 0 publish home 1 200000
	st_run 0 persist home
}

check_gen() {
	st_run 0 check home
	st_has "gen=$1" "wanted the image of gen $1"
	st_no_leftovers
	n=$(find "$ST_T/home" "$ST_P/home" -maxdepth 1 -name 'img-*' | wc -l)
	((n <= 2)) || th_fail "$n image folders left"
}

for step in "${steps[@]}"; do
	th_note "killed at publish:$step"
	base
	THAW_STORE_KILL_AT=publish:$step st_run 137 publish home 2 200000
	check_gen "$(want_gen "$step" 2 1)"

	th_note "killed at persist:$step"
	base
	st_run 0 publish home 2 200000
	THAW_STORE_KILL_AT=persist:$step st_run 137 persist home
	check_gen 2
	st_reboot
	check_gen "$(want_gen "$step" 2 1)"

	th_note "killed at repair:$step"
	base
	st_reboot
	THAW_STORE_KILL_AT=repair:$step st_run 137 open home
	check_gen 1
done

seed=${ST_SEED:-$((RANDOM * 32768 + RANDOM))}
th_note "random kill points, seed $seed"
RANDOM=$seed
st_reboot
rm -rf "$ST_P/home"
for round in $(seq 1 16); do
	delay=$(printf '0.%03d' $((RANDOM % 400)))
	"$ST_TOOL" "${ST_OPTS[@]}" loop home 100000 300000 $((round * 1000)) >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -KILL $pid 2>/dev/null
	wait $pid 2>/dev/null
	if ((round % 2 == 0)); then
		st_reboot
	fi
	rc=0
	ST_OUT=$(st check home 2>&1) || rc=$?
	th_note "round $round (kill after ${delay}s, reboot $((round % 2 == 0))): rc $rc: $(grep -E 'gen=|error' <<<"$ST_OUT" | tr '\n' ' ')"
	((rc == 0 || rc == 2)) || th_fail "seed $seed round $round: check exited $rc"
	st_no_leftovers
done
th_note PASS
