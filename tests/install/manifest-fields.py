#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The manifest fields docs/manifest.md documents (its Fields table and the
# tables of `policy` and `timeouts`) against those thaw-manifest(5) lists
# (the terms of its FIELDS section, "policy.devices" for an entry of
# policy).  Prints each difference; exits 1 on any.
#
# usage: manifest-fields.py manifest.md thaw-manifest.5.scd
import re
import sys


def from_markdown(text):
    fields, section = set(), None
    for line in text.splitlines():
        m = re.match(r"^(#+)\s+(.*)$", line)
        if m:
            title = m.group(2).strip()
            sub = re.fullmatch(r"`(\w+)`", title)
            section = "" if title == "Fields" else (
                sub.group(1) + "." if sub and len(m.group(1)) == 3 else None)
            continue
        m = re.match(r"^\|\s*`(\w+)`\s*\|", line)
        if m and section is not None:
            fields.add(section + m.group(1))
    return fields


def from_scdoc(text):
    fields, in_fields = set(), False
    for line in text.splitlines():
        if line.startswith("# "):
            in_fields = line.strip() == "# FIELDS"
            continue
        m = re.match(r"^\*([\w.]+)\*", line)
        if in_fields and m:
            fields.add(m.group(1))
    return fields


def main():
    md = from_markdown(open(sys.argv[1]).read())
    man = from_scdoc(open(sys.argv[2]).read())
    problems = [f"'{f}' is in manifest.md, not in thaw-manifest(5)"
                for f in sorted(md - man)]
    problems += [f"'{f}' is in thaw-manifest(5), not in manifest.md"
                 for f in sorted(man - md)]
    for p in problems:
        print(p)
    print(f"{len(md)} manifest fields compared: {len(problems)} differences")
    return 1 if problems or not md else 0


if __name__ == "__main__":
    sys.exit(main())
