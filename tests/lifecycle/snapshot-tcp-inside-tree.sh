# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `thawctl snapshot` checkpoints an unmodified program (no libthaw) of two
# processes joined by a TCP connection over 127.0.0.1 (and a Unix
# socketpair), the parent also listening: the census counts both ends as
# inside the tree, CRIU dumps them with --tcp-established under its
# nftables network lock.  After a close, the launch restores the tree and
# the same connection still carries data between parent and child.
. "$(dirname "$0")/lc-lib.sh"

th_init
th_manifest tree "{\"id\": \"tree\", \"exec\": \"$TH_BUILD/tests/lifecycle/tcp-tree\"}"
th_start_thawd --close-timeout 1

# The established connection between the app's two processes, as
# "LOCAL PEER" lines of ss, sorted.
conns() {
	local p
	for p in $(lc_pid tree) $(th_descendants "$(lc_pid tree)"); do
		ss -Htnp state established | grep "pid=$p," |
			awk '{print $3, $4}'
	done | sort -u
}

out=$(thawctl_t launch tree) || th_fail "cold launch failed: $out"
[[ $out == "tree: cold"* ]] || th_fail "first launch: $out"
pid1=$(lc_pid tree)
port=$(lc_port tree)
a=$(lc_query "$port") || th_fail "no answer on port $port"
[[ $a == "served=1 tcp=ok unix=ok" ]] || th_fail "before the snapshot: $a"
before=$(conns)
[[ $(wc -l <<<"$before") == 2 ]] ||
	th_fail "no connection between parent and child: $before"

out=$(thawctl_t snapshot tree) || th_fail "snapshot refused: $out"
th_note "$out"
[[ $out == "tree: dumped into $TH_TMPFS_DIR/tree/current" ]] ||
	th_fail "snapshot answer: $out"
[[ $(lc_pid tree) == "$pid1" ]] || th_fail "the snapshot did not leave tree running"
a=$(lc_query "$port") || th_fail "tree stopped serving after its snapshot"
[[ $a == "served=2 tcp=ok unix=ok" ]] || th_fail "after the snapshot: $a"
streams=("$TH_TMPFS_DIR"/tree/current/tcp-stream-*.img)
[[ -e ${streams[0]} ]] ||
	th_fail "no TCP stream in the image: $(ls "$TH_TMPFS_DIR/tree/current")"

thawctl_t close tree >/dev/null || th_fail "close failed"
lc_wait_stopped tree
out=$(thawctl_t launch tree) || th_fail "warm launch failed: $out"
th_note "$out"
[[ $out == "tree: restored"* ]] || th_fail "launch after the snapshot: $out"
pid2=$(lc_pid tree)
[[ -n $pid2 && $pid2 != "$pid1" ]] || th_fail "no new host pid ($pid1, $pid2)"
# The counter is the snapshot's; the relay goes through the restored
# connection to the restored child.
a=$(lc_query "$port") || th_fail "restored tree does not serve on $port"
[[ $a == "served=2 tcp=ok unix=ok" ]] || th_fail "restored tree answered: $a"
after=$(conns)
[[ $after == "$before" ]] ||
	th_fail "the connection is not the dumped one: '$before' then '$after'"
a=$(lc_query "$port") || th_fail "second query after the restore"
[[ $a == "served=3 tcp=ok unix=ok" ]] || th_fail "restored tree then: $a"
grep -q "Error" "$TH_RUN_DIR"/tree.restore.log 2>/dev/null &&
	th_fail "a restore log was kept"
exit 0
