# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Not a test: measures, in one run, the cold and the warm launch-to-ready
# time of the test app with a large heap (default 256 MiB), through a
# private thawd and real CRIU.  Run it from a build tree:
#
#   THAW_BUILD_DIR=build THAW_CRIU=... THAW_TEST_LIB=tests/lib \
#     bash tests/daemon/bench-large-heap.sh [MIB] [ROUNDS]
#
# Prints one BENCH line per figure and a table.
. "$(dirname "$0")/common.sh"

mib=${1:-256}
rounds=${2:-3}
th_init
th_mount_tmpfs "$TH_TMPFS_DIR" $((mib * 2 + 64))m
td_app_manifest big "[\"--mib\", \"$mib\", \"--verify-after-ready\"]" '"timeouts": {"dump": 60, "restore": 60}'
th_start_thawd

td_launch big
[[ $(td_field start) == cold ]] || th_fail "first launch not cold"
cold=$(td_field readyMs)
dump=$(grep -oE 'big\[[0-9]+\]: dumped in [0-9]+' "$TH_LOG" | grep -oE '[0-9]+$')
td_close big
warm=()
for ((i = 0; i < rounds; i++)); do
	td_launch big
	[[ $(td_field start) == restored ]] || th_fail "launch not restored"
	warm+=("$(td_field readyMs)")
	th_wait_until 10 eval '[[ $(th_log_count "memory intact after restore") == $((i + 1)) ]]' ||
		th_fail "memory not intact"
	td_close big
done

echo "BENCH name=launch_cold_ready value=$cold unit=ms heap_mib=$mib"
echo "BENCH name=dump value=$dump unit=ms heap_mib=$mib"
for ((i = 0; i < rounds; i++)); do
	echo "BENCH name=launch_warm_ready value=${warm[i]} unit=ms heap_mib=$mib round=$((i + 1))"
done
grep -oE 'restored from .*' "$TH_LOG" | sed 's/^/  thawd: /'
printf '%-22s %10s\n' figure ms
printf '%-22s %10.1f\n' "cold launch to ready" "$cold" "  of which dump" "$dump"
for ((i = 0; i < rounds; i++)); do
	printf '%-22s %10.1f\n' "warm launch $((i + 1))" "${warm[i]}"
done
exit 0
