# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Soak of the example apps (home, inputcommon, livemenu) with their peer
# services, through a private thawd on both tiers: cycle 1 launches each
# app cold (it dumps itself) and waits for its image in both tiers; every
# later cycle launches each one, which must answer start "restored" (the
# cold fallback must never hide a broken warm path) and must report its
# state and resources intact in thawd's log from its new pid, then closes
# it.  thawd's open fds, RSS and children are sampled after every cycle.
#
# Bounds, stated before the run:
#   - thawd's fd count and child count at the end of the steady state
#     (after the last cycle) equal those at its start (after cycle 2);
#   - its RSS grows by less than REL_RSS_MIB MiB over the steady state;
#   - no zombie in thawd's tree at any sample;
#   - no leftover mount, loop device, SysV segment, app namespace,
#     half-written image folder or CRIU work folder once thawd stops,
#     and at most one image folder per app in each tier;
#   - a launch that should restore and answers another start fails.
#
#   REL_CYCLES (8)  EX_SIZE_MIB (8)  REL_RSS_MIB (4)
. "$(dirname "$0")/rel-lib.sh"
. "$THAW_TEST_LIB/../examples/ex-lib.sh"

cycles=${REL_CYCLES:-8}
rss_bound=${REL_RSS_MIB:-4}

# What each app says of its resources once restored.
declare -A resources=(
	[home]='settings socket round trip ok'
	[inputcommon]='devices read ok, bus socket round trip ok'
	[livemenu]='shared segment [0-9]+ KiB contents ok, settings file ok'
)
declare -A last_pid=()

# ex_launch through rel_call and rel_field: the python of a version
# manager's shim would cost more than the restore itself.
soak_launch() {
	local id=$1 want=$2 answer start
	answer=$(rel_call launch "{\"id\": \"$id\"}") ||
		th_fail "launch of $id failed: $answer"
	start=$(rel_field start <<<"$answer")
	EX_PID=$(rel_field pid <<<"$answer")
	[[ $start == "$want" ]] ||
		th_fail "launch of $id: start '$start', expected '$want': $answer"
	ex_alive "$EX_PID" || th_fail "launched pid $EX_PID of $id is gone"
	[[ $EX_PID != "${last_pid[$id]:-}" ]] ||
		th_fail "launch of $id gave the pid of its previous run, $EX_PID"
	last_pid[$id]=$EX_PID
	REL_NS[$(readlink "/proc/$EX_PID/ns/pid")]=1
	REL_PIDS+=("$EX_PID")
	rel_stat "$start"
}

# The restored copy's own check, from its pid, and one more such line
# than after the previous cycle.
soak_verify() {
	local id=$1 pid=$2 n=$3 ok
	ok="$id\[$pid\]: stdout: $id: restored: state $EX_SIZE_MIB MiB checksum ok, ${resources[$id]}"
	th_wait_log "$ok" 15 ||
		th_fail "$id (pid $pid) did not report its state and resources intact"
	(($(th_log_count "$id\[[0-9]+\]: stdout: $id: restored: state .* checksum ok, ${resources[$id]}") == n)) ||
		th_fail "$id: $(th_log_count "$id: restored: state") restored reports after $n restores"
	ex_alive "$pid" || th_fail "$id (pid $pid) exited after its check"
	rel_stat verified
}

ex_init
REL_RESULTS=$TH_ROOT/results
REL_CTL=$TH_ROOT/ctl
mkdir -p "$REL_RESULTS" "$REL_CTL"
REL_SHM_BEFORE=$(rel_shm_ids)
trap 'rel_rc=$?; rel_stats_flush; (exit $rel_rc); ex_cleanup' EXIT

th_note "bounds: fds and children equal at start and end of the steady" \
	"state, RSS growth < $rss_bound MiB, no zombie, no leftover, at most" \
	"one image folder per app; $cycles cycles of ${#EX_APPS[@]} apps of" \
	"$EX_SIZE_MIB MiB"
# Deadlines far above what CRIU needs here, so that a loaded machine
# (make check -j) cannot turn a restore into a fallback.
ex_start --dump-timeout 20 --restore-timeout 20

read -r fd0 rss0 _ _ < <(rel_sample)
printf '%6s %6s %8s %9s %8s\n' cycle fds rss_kib children zombies >&2
t0=$(date +%s.%N)
for ((c = 1; c <= cycles; c++)); do
	for id in "${EX_APPS[@]}"; do
		if ((c == 1)); then
			soak_launch "$id" cold
			ex_wait_image "$id"
		else
			soak_launch "$id" restored
			soak_verify "$id" "$EX_PID" $((c - 1))
		fi
		rel_close "$id"
		! ex_alive "$EX_PID" || th_fail "$id (pid $EX_PID) survived its close"
	done
	rel_stat cycles
	rel_soak_sample "$c" "$cycles"
done
t1=$(date +%s.%N)
rel_soak_bounds "$cycles" "$rss_bound" "$fd0" "$rss0"
fde=${REL_END[0]} rsse=${REL_END[1]}

# Every restore came from the one image cycle 1 made.
for id in "${EX_APPS[@]}"; do
	(($(ex_dumps "$id") == 1)) ||
		th_fail "$id was dumped $(ex_dumps "$id") times, not once"
	for dir in "$TH_TMPFS_DIR/$id" "$TH_PERSIST_DIR/$id"; do
		n=$(find "$dir" -maxdepth 1 -name 'img-*' | wc -l)
		((n == 1)) || th_fail "$id keeps $n image folders in $dir, not one"
	done
done
rel_serves
th_stop_thawd
rel_no_leftovers
new=$(find "$TH_PERSIST_DIR" -maxdepth 2 -name '.new-*' 2>/dev/null)
[[ -z $new ]] || th_fail "half-written persistent image folders left: $new"

rate=$(echo "$cycles * ${#EX_APPS[@]} / ($t1 - $t0)" | bc -l)
echo "soak-examples: $cycles cycles of ${#EX_APPS[@]} apps of $EX_SIZE_MIB" \
	"MiB in $(printf '%.1f' "$(echo "$t1 - $t0" | bc -l)") s:" \
	"$(printf '%.2f' "$rate") cycles/s; thawd fds $fd0 -> $fde," \
	"RSS $rss0 -> $rsse KiB"
echo "BENCH name=soak_examples_cycles_per_second" \
	"value=$(printf '%.3f' "$rate") unit=cycles/s cycles=$cycles" \
	"apps=${#EX_APPS[@]}"
exit 0
