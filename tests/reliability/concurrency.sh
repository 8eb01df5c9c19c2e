# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Concurrency: thawd serves many callers at once.
#   1. While a slow dump of one app is under way (CRIU made slow by a
#      wrapper that sleeps before it execs the real one, as a slow eMMC
#      would), a `running` request and a restore of another app are
#      answered, and their answers arrive before the dump ends.
#   2. The same while a slow restore is under way.
#   3. A storm: many background callers send launch, preload, close and
#      running requests for the same and for different apps; at no time
#      does an app have two instances, every successful launch names a
#      process that really is that app, every refusal is one the protocol
#      allows (-EBUSY, -ENOENT, -ECANCELED for a launch closed before it
#      was ready), and the running list matches the
#      processes that live.
#   4. Callers that stop reading (a subscriber and a flood of requests
#      never read, a half-sent line) do not block the others.
. "$(dirname "$0")/rel-lib.sh"

rel_init
rel_criu_wrapper
rel_manifest big 16 3 "" "$REL_SLOW_POLICY"
for i in 1 2 3 4; do
	rel_manifest "s$i" 1 $((20 + i))
done
# The slow operations last 3 s more than CRIU needs: deadlines to match.
th_start_thawd --criu "$REL_CRIU" --dump-timeout 15 --restore-timeout 15

now() { date +%s.%N; }

# Images for the small apps.
for i in 1 2 3 4; do
	rel_launch "s$i" cold
	rel_close "s$i"
done

# A launch in the background; its answer and the time it came in OUT.
bg_launch() {
	local id=$1 out=$2
	(
		rel_call launch "{\"id\": \"$id\"}" >"$out.answer"
		now >"$out.time"
	) &
}

# Waits until the wrapper has started CRIU once more than $1 times.
criu_runs() { [[ -s $REL_CTL/pids ]] && wc -l <"$REL_CTL/pids" || echo 0; }
wait_criu_start() {
	local before=$1
	th_wait_until 10 eval "(( \$(criu_runs) > $before ))" ||
		th_fail "CRIU did not start"
}

# During a slow operation of big: running and a launch of s1 answered,
# both before the operation ends.  $1 names the operation.
during_slow_op() {
	local what=$1 out=$TH_ROOT/$1 t_run t_s1 t_end
	answer=$(rel_call running) || th_fail "running refused during the $what"
	t_run=$(now)
	grep -q '"id": *"big"' <<<"$answer" ||
		th_fail "running during the $what does not list big: $answer"
	rel_launch s1 restored
	t_s1=$REL_T_ANSWER
	th_wait_until 20 test -s "$out.time" || th_fail "the $what never ended"
	t_end=$(cat "$out.time")
	(($(echo "$t_run < $t_end && $t_s1 < $t_end" | bc))) ||
		th_fail "the $what ended ($t_end) before the answers to running" \
			"($t_run) and to s1's launch ($t_s1) came"
	th_note "$what: running answered $(echo "$t_end - $t_run" | bc) s" \
		"and a restore of s1 $(echo "$t_end - $t_s1" | bc) s before" \
		"big's launch answer"
	rel_close s1
}

# 1. A slow dump: big's cold launch answers after its dump.
echo 3 >"$REL_CTL/delay"
n=$(criu_runs)
bg_launch big "$TH_ROOT/dump"
wait_criu_start "$n"
during_slow_op dump
grep -q '"start": *"cold"' "$TH_ROOT/dump.answer" ||
	th_fail "big's cold launch: $(cat "$TH_ROOT/dump.answer")"
th_wait_log 'big\[[0-9]+\]: dumped in' 10 || th_fail "big was not dumped"
rel_close big

# 2. A slow restore of big.
n=$(criu_runs)
bg_launch big "$TH_ROOT/restore"
wait_criu_start "$n"
during_slow_op restore
grep -q '"start": *"restored"' "$TH_ROOT/restore.answer" ||
	th_fail "big's slow launch did not restore: $(cat "$TH_ROOT/restore.answer")"
rel_wait_result "$(rel_field pid <"$TH_ROOT/restore.answer")" restored
rel_stat restored
rel_close big
: >"$REL_CTL/delay"

# 3. The storm.  Each caller runs a fixed random sequence of requests.
instances() {
	rel_instances | awk -v id="$1" '$1 == id {n = $2} END {print n + 0}'
}

storm_caller() {
	local k=$1 j id m out=$TH_ROOT/storm-$1
	RANDOM=$k
	for ((j = 0; j < 8; j++)); do
		id=s$((RANDOM % 3 + 1))
		case $((RANDOM % 5)) in
		0 | 1) m=launch p="{\"id\": \"$id\"}" ;;
		2) m=launch p="{\"id\": \"$id\", \"preload\": true}" ;;
		3) m=closeByAppId p="{\"id\": \"$id\"}" ;;
		4) m=running p="{}" ;;
		esac
		echo "$m $id $(rel_call "$m" "$p")" >>"$out"
	done
}

callers=()
for k in $(seq 1 12); do
	storm_caller "$k" &
	callers+=($!)
done
storm_polls=0
while kill -0 "${callers[@]}" 2>/dev/null; do
	while read -r id n; do
		((n <= 1)) || th_fail "$id has $n instances during the storm"
	done < <(rel_instances)
	storm_polls=$((storm_polls + 1))
done
wait "${callers[@]}" 2>/dev/null
th_note "storm: 12 callers x 8 requests, $storm_polls instance checks"

bad=$(grep -hv '"returnValue": *true' "$TH_ROOT"/storm-* |
	grep -vE '"errorCode": *-(16|2|125)[,}]' || true)
[[ -z $bad ]] || th_fail "answers the protocol does not allow: $bad"
while read -r m id answer; do
	[[ $m == launch ]] || continue
	grep -q '"returnValue": *true' <<<"$answer" || continue
	pid=$(rel_field pid <<<"$answer")
	start=$(rel_field start <<<"$answer")
	[[ $start == restored || $start == preloaded || $start == already-running ]] ||
		th_fail "storm launch of $id started '$start', not from its image: $answer"
	[[ $start == restored ]] && rel_stat restored
	grep -qx "app $id" "$REL_RESULTS/$pid.result" 2>/dev/null ||
		th_fail "storm launch of $id names pid $pid, which never ran $id"
	grep -qx "result ok" "$REL_RESULTS/$pid.result" ||
		th_fail "pid $pid of $id found its state changed"
done < <(cat "$TH_ROOT"/storm-*)

# Every app a running answer of the storm lists as launched or preloaded
# was that app, ready: its process had written its verdict.
while read -r id pid; do
	grep -qx "app $id" "$REL_RESULTS/$pid.result" 2>/dev/null ||
		th_fail "a running answer lists pid $pid as $id, which never ran $id"
done < <(grep -h '^running ' "$TH_ROOT"/storm-* | cut -d' ' -f3- |
	"$REL_PY" -c '
import json, sys
for line in sys.stdin:
    for e in json.loads(line).get("running", []):
        if e["state"] in ("launched", "preloaded") and e["pid"] > 0:
            print(e["id"], e["pid"])
')

# The running list matches the processes that live.
th_wait_until 10 eval '! rel_call running | grep -qE "\"state\": *\"(starting|restoring|closing)\""' ||
	th_fail "apps still in transition after the storm"
list=$(rel_call running)
for id in s1 s2 s3; do
	listed=0
	grep -q "\"id\": *\"$id\"" <<<"$list" && listed=1
	n=$(instances "$id")
	((n == listed)) ||
		th_fail "$id: $n processes live, running lists it $listed times: $list"
done
rel_no_frozen all
rel_no_orphans

# 4. Callers that never read.
"$REL_PY" - "$TH_SOCKET" "$TH_ROOT/stall.ready" <<'EOF' &
import socket, sys, time
subs = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
subs.connect(sys.argv[1])
subs.sendall(b'{"method": "running", "payload": {"subscribe": true}}\n')
flood = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
flood.connect(sys.argv[1])
flood.setblocking(False)
sent = 0
try:
    for _ in range(50000):
        flood.send(b'{"method": "running"}\n')
        sent += 1
except BlockingIOError:
    pass
half = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
half.connect(sys.argv[1])
half.sendall(b'{"method": "runn')
open(sys.argv[2], "w").write("%d\n" % sent)
time.sleep(60)
EOF
stall=$!
th_wait_until 20 test -s "$TH_ROOT/stall.ready" || th_fail "the stalled callers did not start"
th_note "a subscriber, a flood of $(cat "$TH_ROOT/stall.ready") unread requests and a half line wait"
for i in 1 2; do
	for id in s1 s2 s3 s4; do
		rel_is_stopped "$id" || rel_close "$id"
	done
	t0=$(now)
	rel_launch "s$i" restored
	rel_close "s$i"
	answer=$(timeout 10 "$REL_PY" "$TH_CLIENT" "$TH_SOCKET" running) ||
		th_fail "running not answered beside stalled callers"
	th_note "round $i beside stalled callers: launch, close, running in $(echo "$(now) - $t0" | bc) s"
done
kill "$stall" 2>/dev/null
wait "$stall" 2>/dev/null
rel_serves
rel_stat cycles 2
th_stop_thawd
rel_no_leftovers
exit 0
