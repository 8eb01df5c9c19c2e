# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A TCP connection to a peer outside the app's tree (a listener the test
# runs) is refused by the census before anything is frozen, the peer's
# address named: CRIU's --tcp-established would dump it, but a restored
# copy could not carry on a connection whose peer went on talking to the
# original.  The app keeps running and its connection stays open.
. "$(dirname "$0")/lc-lib.sh"

th_init
th_tcp_peer
peer=$TH_PEER_PORT

th_manifest tree "{\"id\": \"tree\", \"exec\": \"$TH_BUILD/tests/lifecycle/tcp-tree\", \"args\": [\"--peer\", \"$peer\"]}"
th_start_thawd --close-timeout 1

out=$(thawctl_t launch tree) || th_fail "launch failed: $out"
pid=$(lc_pid tree)
port=$(lc_port tree)
a=$(lc_query "$port") || th_fail "no answer on port $port"
[[ $a == "served=1 tcp=ok unix=ok peer=ok" ]] || th_fail "before: $a"

out=$(thawctl_t snapshot tree 2>&1) && th_fail "snapshot accepted: $out"
th_note "$out"
grep -qE "pid $pid: fd [0-9]+ tcp peer 127\.0\.0\.1:$peer: blocks \(tcp connection to a peer outside the tree\)" <<<"$out" ||
	th_fail "the refusal does not name the peer 127.0.0.1:$peer: $out"
# Only that one: the connection inside the tree is no blocker.
grep -q "1 blocker " <<<"$out" || th_fail "more than one blocker: $out"
a=$(th_call snapshot '{"id": "tree"}') && th_fail "accepted: $a"
[[ $(th_json errorCode <<<"$a") == -16 &&
	$(th_json blockers.0.name <<<"$a") == "peer 127.0.0.1:$peer" &&
	$(th_json blockers.0.type <<<"$a") == tcp &&
	$(th_json blockers.0.pid <<<"$a") == "$pid" ]] ||
	th_fail "the answer's blockers: $a"

[[ $(lc_pid tree) == "$pid" ]] || th_fail "tree is gone or restarted"
a=$(lc_query "$port") || th_fail "tree stopped serving"
[[ $a == "served=2 tcp=ok unix=ok peer=ok" ]] || th_fail "after: $a"
[[ ! -e $TH_TMPFS_DIR/tree/current ]] || th_fail "an image appeared"
exit 0
