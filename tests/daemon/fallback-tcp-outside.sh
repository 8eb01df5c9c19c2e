# SPDX-License-Identifier: LGPL-2.1-or-later
#
# An app that asks for its own checkpoint while it holds a TCP connection
# to a peer outside its tree (a listener the test runs) is not dumped:
# CRIU's --tcp-established would dump the connection, but a restored copy
# could not carry it on, so thawd refuses as a snapshot does.  The app
# learns the refusal (thawd's -EBUSY) and keeps running cold, the
# launch's answer names the peer, and no image is made.
. "$(dirname "$0")/common.sh"

th_init
th_tcp_peer
peer=$TH_PEER_PORT

td_app_manifest app "[\"--mib\", \"2\", \"--connect\", \"$peer\"]"
th_start_thawd

td_launch app
[[ $(td_field start) == cold ]] || th_fail "not cold: $TD_ANSWER"
pid=$(td_field pid)
why=$(td_field checkpointError)
[[ $why == "1 tcp connection to a peer outside the tree (pid $pid: fd "*" tcp peer 127.0.0.1:$peer)" ]] ||
	th_fail "the answer does not name the peer: $TD_ANSWER"
th_wait_log 'app: checkpoint failed \(-5\): thawd could not dump this process: Device or resource busy' 5 ||
	th_fail "the app did not learn the refusal"
kill -0 "$pid" || th_fail "app died"
[[ $(th_log_count 'dumped in') == 0 ]] || th_fail "a dump was made"
[[ ! -e $TH_TMPFS_DIR/app/current ]] || th_fail "an image appeared"
exit 0
