# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Who may ask for what, with real callers: a uid other than root cannot
# connect (socket mode 0660 root:root); a caller that is no app of thawd's
# cannot ask for a checkpoint; an app cannot launch, close or invalidate
# (its own or another app); bad requests and a flood get clear errors and
# thawd keeps serving.
. "$(dirname "$0")/common.sh"

th_init
td_app_manifest app '["--mib", "1"]'
th_manifest intruder "{\"id\": \"intruder\", \"exec\": \"/bin/sh\", \"args\": [\"-c\", \"for m in launch closeByAppId invalidate; do echo \\\"{\\\\\\\"method\\\\\\\": \\\\\\\"\$m\\\\\\\", \\\\\\\"payload\\\\\\\": {\\\\\\\"id\\\\\\\": \\\\\\\"app\\\\\\\"}}\\\" | socat -t 5 - UNIX-CONNECT:\$THAW_SOCKET; done > $TH_ROOT/intruder.out; sleep 600\"]}"
th_start_thawd

[[ $(stat -c %a "$TH_SOCKET") == 660 ]] || th_fail "socket mode $(stat -c %a "$TH_SOCKET")"
out=$(echo '{"method": "running"}' | setpriv --reuid=65534 --regid=65534 \
	--clear-groups socat -t 2 - UNIX-CONNECT:"$TH_SOCKET" 2>&1)
rc=$?
[[ $rc != 0 && $out == *"ermission denied"* ]] ||
	th_fail "uid 65534 reached thawd (rc $rc): $out"

a=$(th_call checkpoint) && th_fail "a non-app got a checkpoint: $a"
[[ $(th_json errorCode <<<"$a") == -1 ]] || th_fail "wrong error: $a"
grep -q 'no app started by thawd' <<<"$a" || th_fail "unclear error: $a"

td_launch app
td_launch intruder
th_wait_until 10 eval '[[ $(wc -l <"$TH_ROOT/intruder.out") == 3 ]]' ||
	th_fail "the intruder got no answers: $(cat "$TH_ROOT/intruder.out")"
[[ $(grep -c '"errorCode":-1,' "$TH_ROOT/intruder.out") == 3 ]] ||
	th_fail "an app's request for another was not refused: $(cat "$TH_ROOT/intruder.out")"
th_call running | grep -q '"id":"app"' || th_fail "the intruder closed app"

bad() {
	local raw=$1 want=$2 out
	out=$(python3 "$TH_CLIENT" "$TH_SOCKET" --raw "$raw") &&
		th_fail "accepted: $raw"
	grep -q -- "$want" <<<"$out" || th_fail "'$raw' gave $out, not $want"
}
bad '{"method": "launch", "payload": {"id": "../etc"}}\n' 'no valid app id'
bad '{"method": "launch", "payload": {"id": "a/b"}}\n' 'no valid app id'
bad '{"method": "launch", "payload": {"id": "a\\u0000b"}}\n' 'no valid app id'
bad '{"method": "launch"\n' 'malformed JSON'
bad '{"method": "explode"}\n' 'unknown method'
bad '{"method": "launch", "payload": {"id": 7}}\n' 'must be a string'
bad '{"method": "closeByAppId", "payload": {"id": "app", "preloadOnly": "yes"}}\n' 'must be a boolean'
big=$(head -c 70000 /dev/zero | tr '\0' ' ')
bad "{\"method\": \"running\"$big}\\n" 'larger than'

# A flood: many callers at once, some never reading; thawd still serves.
python3 - "$TH_SOCKET" <<'PY' || th_fail "flood failed"
import socket, sys
socks = []
for i in range(300):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect(sys.argv[1])
        s.send(b'{"method": "running", "payload": {"subscribe": true}}\n' * 50)
    except OSError:
        pass
    socks.append(s)
PY
a=$(th_call running) || th_fail "thawd stopped serving after the flood: $a"
kill -0 "$TH_THAWD_PID" || th_fail "thawd died"
exit 0
