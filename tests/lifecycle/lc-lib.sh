# SPDX-License-Identifier: LGPL-2.1-or-later
#
# What the lifecycle and security tests share on top of tests/lib/harness.sh.
#   lc_server_manifest ID [ARGS-JSON]   a manifest of snap-server (no
#                                   libthaw, not checkpointable)
#   lc_port ID                      the port the server ID listens on
#                                   (from its line in thawd's log)
#   lc_query PORT                   one connection to 127.0.0.1:PORT,
#                                   prints the line it answers
#   lc_pid ID                       ID's pid in the running list ("" if none)
#   lc_wait_stopped ID              waits until ID leaves the running list
#   lc_as UID GID [GROUPS] CMD...   runs CMD as another uid (no account
#                                   needed); GROUPS: supplementary, comma-
#                                   separated, or - for none
. "$THAW_TEST_LIB/harness.sh"

LC_SERVER=$TH_BUILD/tests/lifecycle/snap-server
LC_APP=$TH_BUILD/tests/daemon/thaw-test-app
# The system's python: callers of other uids cannot use root's own.
LC_PY=/usr/bin/python3

lc_server_manifest() {
	local id=$1 args=${2:-[]}
	th_manifest "$id" "{\"id\": \"$id\", \"exec\": \"$LC_SERVER\", \"args\": $args}"
}

lc_port() {
	local line
	local re=" $1\\[[0-9]+\\]: stdout: listening on 127\\.0\\.0\\.1:[0-9]+"
	th_wait_log "$re" 10 || th_fail "$1 does not say where it listens"
	line=$(grep -E "$re" "$TH_LOG" | tail -n 1)
	echo "${line##*:}"
}

lc_query() {
	python3 - "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
data = b""
while not data.endswith(b"\n"):
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.decode().strip())
PY
}

lc_pid() {
	th_call running | python3 -c '
import json, sys
for a in json.loads(sys.stdin.readline()).get("running", []):
    if a["id"] == sys.argv[1]:
        print(a["pid"])
' "$1"
}

lc_wait_stopped() {
	th_wait_until "${2:-10}" eval "[[ -z \$(lc_pid $1) ]]" ||
		th_fail "$1 is still running"
}

lc_as() {
	local uid=$1 gid=$2 groups=$3
	shift 3
	if [[ $groups == - ]]; then
		setpriv --reuid="$uid" --regid="$gid" --clear-groups "$@"
	else
		setpriv --reuid="$uid" --regid="$gid" --groups="$groups" "$@"
	fi
}
