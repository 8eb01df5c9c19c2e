# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Bad requests from a caller of another uid in thawd's group, each
# answered with a clear error, while a subscriber (root) and an app keep
# being served: malformed JSON, unknown method, missing and wrongly typed
# fields, ids that try to leave the image folder, a raw NUL byte, an
# oversized request, a half-written line left hanging, and a flood.
. "$(dirname "$0")/lc-lib.sh"

th_init
lc_server_manifest srv
th_start_thawd --group 4242 --close-timeout 1

sub=$TH_ROOT/sub.out
th_subscribe running '{"subscribe": true}' 3 "$sub"
subpid=$!
th_wait_until 5 test -s "$sub" || th_fail "no subscription"

# A caller that never finishes its line.
exec 7> >(python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.send(b"{\"method\": \"runn"); time.sleep(8)' "$TH_SOCKET")

bad() {
	local raw=$1 want=$2 out
	out=$(lc_as 4343 4242 - "$LC_PY" "$TH_CLIENT" "$TH_SOCKET" --raw "$raw") &&
		th_fail "accepted: $raw"
	[[ $(th_json returnValue <<<"$out") == false ]] || th_fail "'$raw': $out"
	grep -qF -- "$want" <<<"$out" || th_fail "'$raw' gave $out, not '$want'"
}
bad '{"method": "launch"\n' 'malformed JSON'
bad 'launch srv\n' 'malformed JSON'
bad '[1, 2]\n' 'no JSON object'
bad '{"method": "explode"}\n' 'unknown method'
bad '{"method": 7}\n' "field 'method' is missing or no string"
bad '{"payload": {}}\n' "field 'method' is missing"
bad '{"method": "launch"}\n' "field 'id' is missing"
bad '{"method": "launch", "payload": []}\n' "field 'payload' must be an object"
bad '{"method": "launch", "payload": {"id": 7}}\n' "field 'id' must be a string"
bad '{"method": "launch", "payload": {"id": "srv", "params": 1}}\n' "field 'params' must be an object"
bad '{"method": "launch", "payload": {"id": "srv", "cold": "yes"}}\n' "field 'cold' must be a boolean"
bad '{"method": "running", "payload": {"subscribe": 1}}\n' "field 'subscribe' must be a boolean"
for id in ../srv ../../etc/passwd a/b /srv . .. .hidden 'a\\u0000b'; do
	bad "{\"method\": \"snapshot\", \"payload\": {\"id\": \"$id\"}}\\n" 'no valid app id'
done
bad '{"method": "invalidate", "payload": {"id": "srv\x00"}}\n' 'NUL byte'
bad '{"method": "launch", "payload": {"id": "nosuchapp"}}\n' "no app 'nosuchapp'"
deep=$(printf '[%.0s' {1..40})
bad "{\"method\": \"running\", \"x\": $deep}\\n" 'malformed JSON'
big=$(head -c 70000 /dev/zero | tr '\0' ' ')
bad "{\"method\": \"running\"$big}\\n" 'larger than'

# A flood from the group member: many connections, many lines, unread.
lc_as 4343 4242 - "$LC_PY" - "$TH_SOCKET" <<'PY' || th_fail "flood failed"
import socket, sys
socks = []
for i in range(250):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect(sys.argv[1])
        s.send(b'{"method": "running"}\n{"method": "bogus"}\n' * 200)
    except OSError:
        pass
    socks.append(s)
PY

# Others were served all along: a launch reaches the subscriber.
out=$(thawctl_t launch srv) || th_fail "launch after the bad requests: $out"
port=$(lc_port srv)
lc_query "$port" >/dev/null || th_fail "srv does not serve"
th_wait_until 10 eval '(( $(wc -l <"$sub") >= 3 ))' ||
	th_fail "the subscriber missed the launch: $(cat "$sub")"
grep -q '"id":"srv"' "$sub" || th_fail "subscriber: $(cat "$sub")"
kill -0 "$TH_THAWD_PID" || th_fail "thawd died"
out=$(lc_as 4343 4242 - "$LC_PY" "$TH_CLIENT" "$TH_SOCKET" running) ||
	th_fail "the group member is no longer served: $out"
exec 7>&-
kill "$subpid" 2>/dev/null
exit 0
