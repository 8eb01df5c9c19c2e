# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A Debian program as it is, python3's http.server on 127.0.0.1, is
# snapshot from outside while it runs, closed, and launched again from
# the snapshot: restored, with a new host pid, serving the same folder
# on the same port.
. "$(dirname "$0")/lc-lib.sh"

th_init
mkdir -p "$TH_ROOT/www"
echo "page-before-the-snapshot" >"$TH_ROOT/www/index.txt"
port=$((20000 + $$ % 20000))
th_manifest web "{\"id\": \"web\", \"exec\": \"$LC_PY\", \"args\": [\"-m\", \"http.server\", \"--bind\", \"127.0.0.1\", \"--directory\", \"$TH_ROOT/www\", \"$port\"], \"env\": {\"PYTHONUNBUFFERED\": \"1\"}}"
th_start_thawd --close-timeout 1

get() {
	"$LC_PY" -c '
import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode().strip())
' "http://127.0.0.1:$port/index.txt"
}

out=$(thawctl_t launch web) || th_fail "cold launch: $out"
th_wait_until 10 get >/dev/null || th_fail "http.server does not serve on $port"
pid1=$(lc_pid web)
out=$(thawctl_t snapshot web) || th_fail "snapshot refused: $out"
th_note "$out"
[[ $(get) == page-before-the-snapshot ]] || th_fail "web stopped serving"

thawctl_t close web >/dev/null || th_fail "close failed"
lc_wait_stopped web
echo "page-after-the-snapshot" >"$TH_ROOT/www/index.txt"
out=$(thawctl_t launch web) || th_fail "warm launch: $out"
th_note "$out"
[[ $out == "web: restored"* ]] || th_fail "launch after the snapshot: $out"
pid2=$(lc_pid web)
[[ -n $pid2 && $pid2 != "$pid1" ]] || th_fail "no new host pid ($pid1, $pid2)"
a=$(get) || th_fail "restored web does not serve on $port"
[[ $a == page-after-the-snapshot ]] || th_fail "restored web served: $a"
exit 0
