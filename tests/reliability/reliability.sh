# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `make reliability`: runs a soak, the concurrency test and every fault of
# faults.sh, each with its own thawd, and prints one table of what they
# did: cycles run, faults injected by kind, requests served, launches
# restored and cold, what was lost, and thawd's fds and memory at the
# start and the end of the soak.  Then one BENCH line per figure.
#
#   REL_SOAK_CYCLES (200)  REL_FAULTS (every kind)
set -u
here=$(dirname "$0")
stats=$(mktemp /tmp/thaw-reliability-stats.XXXXXX)
logs=$(mktemp -d /tmp/thaw-reliability-logs.XXXXXX)
trap 'rm -f "$stats"' EXIT
faults=${REL_FAULTS:-criu-dump criu-parasite criu-restore app-dump thawd-launch thawd-dump thawd-persist persist-full persist-ro persist-gone device lazy-pages}
failed=()

run() {
	local name=$1 script=$2
	shift 2
	printf '%-28s ' "$name" >&2
	if env THAW_TEST_NAME="$name" REL_STATS_FILE="$stats" "$@" \
		bash "$here/$script" >"$logs/$name.log" 2>&1; then
		echo "passed" >&2
	else
		echo "FAILED (log: $logs/$name.log)" >&2
		failed+=("$name")
		echo "$name failed 1" >>"$stats"
	fi
}

run rel-soak soak.sh REL_CYCLES="${REL_SOAK_CYCLES:-200}" REL_MIB=1 \
	REL_RSS_MIB=8
run rel-concurrency concurrency.sh
for f in $faults; do
	run "rel-fault-$f" faults.sh
done

# Sums of a figure over every test, or of one test's.
sum() { awk -v k="$1" -v t="${2:-}" '$2 == k && (t == "" || $1 == t) {n += $3} END {print n + 0}' "$stats"; }

cycles=$(sum cycles)
restored=$(sum restored)
cold=$(sum cold)
requests=$(sum requests)
verified=$(sum verified)
nfail=$(sum failed)
faults_total=0
echo
echo "thaw reliability run"
printf '  %-34s %s\n' "cycles run (launch, verify, close)" "$cycles"
for f in $faults; do
	n=$(sum "fault_$f")
	faults_total=$((faults_total + n))
	printf '  %-34s %s\n' "fault injected: $f" "$n"
done
printf '  %-34s %s\n' "faults injected, total" "$faults_total"
printf '  %-34s %s\n' "requests served" "$requests"
printf '  %-34s %s\n' "launches restored (state verified)" "$restored"
printf '  %-34s %s\n' "launches cold" "$cold"
printf '  %-34s %s\n' "tests failed" "$nfail${failed[*]:+ (${failed[*]})}"
printf '  %-34s %s\n' "lost (apps, images, state)" \
	"$([[ $nfail == 0 ]] && echo nothing || echo "see the failed tests")"
printf '  %-34s %s -> %s\n' "thawd fds (soak start -> end)" \
	"$(sum fds_start rel-soak)" "$(sum fds_end rel-soak)"
printf '  %-34s %s -> %s\n' "thawd RSS KiB (soak start -> end)" \
	"$(sum rss_start_kib rel-soak)" "$(sum rss_end_kib rel-soak)"
echo "  logs: $logs"
echo
echo "BENCH name=reliability_cycles value=$cycles unit=cycles"
echo "BENCH name=reliability_faults value=$faults_total unit=faults"
echo "BENCH name=reliability_requests value=$requests unit=requests"
echo "BENCH name=reliability_restored value=$restored unit=launches"
echo "BENCH name=reliability_cold value=$cold unit=launches"
echo "BENCH name=reliability_failed_tests value=$nfail unit=tests"
echo "BENCH name=reliability_thawd_fds_end value=$(sum fds_end rel-soak) unit=fds start=$(sum fds_start rel-soak)"
echo "BENCH name=reliability_thawd_rss_end value=$(sum rss_end_kib rel-soak) unit=KiB start=$(sum rss_start_kib rel-soak)"
((nfail == 0))
