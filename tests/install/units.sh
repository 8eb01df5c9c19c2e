#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# thawd.service and thawd.socket as a staged install puts them pass
# `systemd-analyze verify`, run on that root (--root), so the programs
# they start must be where the units name them.  systemd's own units
# (the targets ours hook into) are what the root lacks of a real system:
# they are copied in from this machine's systemd.  The installed units
# are never edited.
# shellcheck source=tests/install/stage.sh
source "$(dirname "$0")/stage.sh"

root=$work/root
stage "$root"

unitdir=$THAW_UNITDIR
service=$root$unitdir/thawd.service
socket=$root$unitdir/thawd.socket
[[ -f "$service" && -f "$socket" ]] || fail "units not installed in $unitdir"

host_units=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null ||
	echo /lib/systemd/system)
mkdir -p "$root/usr/lib/systemd/system" "$root/lib/systemd/system"
for u in "$host_units"/*.target; do
	n=$(basename "$u")
	[ -e "$root$unitdir/$n" ] || cp "$u" "$root$host_units/$n"
done

verify()
{
	systemd-analyze verify --man=no --root="$root" "$@" 2>&1
}

out=$(verify "$unitdir/thawd.service" "$unitdir/thawd.socket") || {
	echo "$out" >&2
	fail "systemd-analyze verify"
}
if [ -n "$out" ]; then
	echo "$out" >&2
	fail "systemd-analyze verify printed warnings"
fi
echo "ok systemd-analyze verify thawd.service thawd.socket"

# The check has teeth: without thawd where ExecStart names it, it fails.
exec_path=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$service")
envfile=$(sed -n 's/^EnvironmentFile=-\{0,1\}//p' "$service")
[ -f "$root$envfile" ] || fail "EnvironmentFile $envfile is not installed"
[ "$exec_path" = "$THAW_SBINDIR/thawd" ] ||
	fail "ExecStart names $exec_path, thawd is installed as $THAW_SBINDIR/thawd"
mv "$root$exec_path" "$root$exec_path.away"
if verify "$unitdir/thawd.service" >/dev/null; then
	fail "verify passed without $exec_path"
fi
mv "$root$exec_path.away" "$root$exec_path"
echo "ok verify fails when thawd is missing"

# What the service promises, as systemd reads it.
prop()
{
	local v

	v=$(sed -n "s/^$1=//p" "$service" | tail -n1)
	[ "$v" = "$2" ] || fail "thawd.service: $1=$v, want $2"
}
prop Type notify
prop Restart on-failure
prop KillMode process
prop RuntimeDirectory thaw
prop RuntimeDirectoryPreserve yes
prop StateDirectory thaw
oom=$(sed -n 's/^OOMScoreAdjust=//p' "$service")
[ "${oom:-0}" -le -500 ] || fail "OOMScoreAdjust=$oom is not strongly negative"
grep -qx 'ListenStream=/run/thaw/thawd.sock' "$socket" ||
	fail "thawd.socket does not listen on /run/thaw/thawd.sock"
grep -qx 'SocketMode=0660' "$socket" || fail "thawd.socket: SocketMode"
group=$(sed -n 's/^SocketGroup=//p' "$socket")
grep -Eq "^g $group( |$)" "$root$THAW_SYSUSERS_DIR/thaw.conf" ||
	fail "sysusers.d does not create group $group"
echo "units: all checks passed"
