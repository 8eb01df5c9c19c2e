#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Prints what the bash completion offers: "- WORD..." with no command yet
# (commands and global options), then "CMD OPTION..." for each command.
#
# usage: complete-listing.sh thawctl.bash
set -euo pipefail

# thawd is not asked: app ids are not what this lists.
thawctl() { return 1; }
# shellcheck source=/dev/null
source "$1"

offer()
{
	COMP_WORDS=(thawctl "$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_thawctl
	echo "${COMPREPLY[*]}"
}

echo "- $(offer "") $(offer -)"
for cmd in $(offer ""); do
	echo "$cmd $(offer "$cmd" -)"
done
