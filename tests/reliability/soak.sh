# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Soak: launch, verify, close, relaunch, REL_CYCLES times, through a
# private thawd; the first launch of each app is cold (it dumps itself),
# every later one must be restored and must find its whole state intact
# (rel-app checks it), and every REL_REDUMP-th cycle invalidates the
# image so that the app is dumped again.  thawd's open fds, RSS and
# children are sampled after every cycle.
#
# Bounds, stated before the run:
#   - thawd's fd count and child count at the end of the steady state
#     (after the last cycle) equal those at its start (after cycle 2);
#   - its RSS grows by less than REL_RSS_MIB MiB over the steady state;
#   - no zombie in thawd's tree at any sample;
#   - no leftover mount, loop device, SysV segment, app namespace,
#     half-written image folder or CRIU work folder once thawd stops,
#     and at most one image folder per app;
#   - a launch that should restore and answers another start fails.
#
#   REL_CYCLES (20)  REL_MIB (16)  REL_APPS (1)  REL_REDUMP (10)
#   REL_RSS_MIB (4)
. "$(dirname "$0")/rel-lib.sh"

cycles=${REL_CYCLES:-20}
mib=${REL_MIB:-16}
napps=${REL_APPS:-1}
redump=${REL_REDUMP:-10}
rss_bound=${REL_RSS_MIB:-4}

rel_init
th_note "bounds: fds and children equal at start and end of the steady" \
	"state, RSS growth < $rss_bound MiB, no zombie, no leftover;" \
	"$cycles cycles of $napps app(s) of $mib MiB"
for ((i = 0; i < napps; i++)); do
	rel_manifest "soak-$i" "$mib" $((i + 11))
done
# Deadlines far above what CRIU needs here, so that a loaded machine
# (make check -j) cannot turn a restore into a fallback.
th_start_thawd --dump-timeout 20 --restore-timeout 20

read -r fd0 rss0 _ _ < <(rel_sample)
printf '%6s %6s %8s %9s %8s\n' cycle fds rss_kib children zombies >&2
t0=$(date +%s.%N)
for ((c = 1; c <= cycles; c++)); do
	for ((i = 0; i < napps; i++)); do
		if ((c == 1)); then
			rel_launch "soak-$i" cold
		elif ((redump > 0 && c % redump == 0)); then
			rel_call invalidate "{\"id\": \"soak-$i\"}" >/dev/null ||
				th_fail "invalidate of soak-$i refused"
			rel_launch "soak-$i" cold
		else
			rel_launch "soak-$i" restored
		fi
		rel_close "soak-$i"
	done
	rel_stat cycles
	rel_soak_sample "$c" "$cycles"
done
t1=$(date +%s.%N)
rel_soak_bounds "$cycles" "$rss_bound" "$fd0" "$rss0"
fde=${REL_END[0]} rsse=${REL_END[1]}

for ((i = 0; i < napps; i++)); do
	n=$(find "$TH_TMPFS_DIR/soak-$i" -maxdepth 1 -name 'img-*' | wc -l)
	((n <= 1)) || th_fail "soak-$i keeps $n image folders"
done
rel_serves
th_stop_thawd
rel_no_leftovers


rate=$(echo "$cycles * $napps / ($t1 - $t0)" | bc -l)
echo "soak: $cycles cycles of $napps app(s) of $mib MiB in" \
	"$(printf '%.1f' "$(echo "$t1 - $t0" | bc -l)") s:" \
	"$(printf '%.2f' "$rate") cycles/s; thawd fds $fd0 -> $fde," \
	"RSS $rss0 -> $rsse KiB"
echo "BENCH name=soak_cycles_per_second value=$(printf '%.3f' "$rate")" \
	"unit=cycles/s cycles=$cycles apps=$napps mib=$mib"
echo "BENCH name=soak_thawd_rss_growth value=$((rsse - REL_STEADY[1])) unit=KiB" \
	"cycles=$cycles"
exit 0
