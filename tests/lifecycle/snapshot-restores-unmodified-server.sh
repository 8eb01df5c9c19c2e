# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `thawctl snapshot` checkpoints an unmodified program (no libthaw) that
# holds an open file, a socketpair and a TCP listening socket on
# loopback, at a moment chosen from outside, and leaves it running; after
# a close, the launch restores it (new host pid) and it serves on its
# port again, with the state it had at the snapshot.
. "$(dirname "$0")/lc-lib.sh"

th_init
echo "contents-of-the-file" >"$TH_ROOT/data.txt"
lc_server_manifest srv "[\"--file\", \"$TH_ROOT/data.txt\"]"
th_start_thawd --close-timeout 1

out=$(thawctl_t launch srv) || th_fail "cold launch failed: $out"
[[ $out == "srv: cold"* ]] || th_fail "first launch: $out"
pid1=$(lc_pid srv)
port=$(lc_port srv)
a=$(lc_query "$port") || th_fail "no answer on port $port"
[[ $a == "served=1 file=contents-of-the-file mem=ok pair=ok" ]] ||
	th_fail "before the snapshot: $a"

out=$(thawctl_t snapshot srv) || th_fail "snapshot refused: $out"
th_note "$out"
[[ $out == "srv: dumped into $TH_TMPFS_DIR/srv/current" ]] ||
	th_fail "snapshot answer: $out"
[[ $(lc_pid srv) == "$pid1" ]] || th_fail "the snapshot did not leave srv running"
a=$(lc_query "$port") || th_fail "srv stopped serving after its snapshot"
[[ $a == served=2* ]] || th_fail "after the snapshot: $a"

# The image is root's alone: folders 0700, files 0600.
img=$(readlink -f "$TH_TMPFS_DIR/srv/current")
[[ -d $img ]] || th_fail "no image folder behind $TH_TMPFS_DIR/srv/current"
bad=$(find "$TH_TMPFS_DIR/srv" \( -type d ! -perm 0700 \) -o \
	\( -type f -perm /0077 \) -o ! -user root)
[[ -z $bad ]] || th_fail "image files others may read: $(ls -l $bad)"

thawctl_t close srv >/dev/null || th_fail "close failed"
lc_wait_stopped srv
out=$(thawctl_t launch srv) || th_fail "warm launch failed: $out"
th_note "$out"
[[ $out == "srv: restored"* ]] || th_fail "launch after the snapshot: $out"
pid2=$(lc_pid srv)
[[ -n $pid2 && $pid2 != "$pid1" ]] || th_fail "no new host pid ($pid1, $pid2)"
a=$(lc_query "$port") || th_fail "restored srv does not serve on $port"
# The counter is the snapshot's: one connection was served before it.
[[ $a == "served=2 file=contents-of-the-file mem=ok pair=ok" ]] ||
	th_fail "restored srv answered: $a"
umask_now=$(awk '/^Umask/ {print $2}' /proc/"$pid2"/status)
[[ $umask_now == 0022 ]] || th_fail "restored srv has umask $umask_now"
th_call running | grep -q '"start":"restored"' || th_fail "running list"

# Preloaded from the snapshot, then launched: no signal of libthaw's
# reaches the program (it would kill it), it just goes on serving.
thawctl_t close srv >/dev/null || th_fail "second close failed"
lc_wait_stopped srv
out=$(th_call launch '{"id": "srv", "preload": true}') || th_fail "preload: $out"
[[ $(th_json start <<<"$out") == preloaded ]] || th_fail "preload: $out"
out=$(thawctl_t launch srv) || th_fail "launch of the preloaded srv: $out"
[[ $out == "srv: preloaded"* ]] || th_fail "launch after preload: $out"
a=$(lc_query "$port") || th_fail "the preloaded srv does not serve"
[[ $a == "served=2 "*"mem=ok pair=ok" ]] || th_fail "preloaded srv: $a"
exit 0
