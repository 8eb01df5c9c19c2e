#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Compares what `thawctl --help` lists (global options, commands and each
# command's options, environment variables, exit statuses) with what
# thawctl(1) lists, and prints each difference.  Exits 1 on any.
#
# usage: help-vs-man.py HELP_TEXT_FILE thawctl.1.scd [COMPLETION_LISTING]
#        help-vs-man.py --options-only HELP_TEXT_FILE PAGE.scd
#
# The second form compares only the options: every option at the start
# of an indented help line against the OPTIONS section (as for thawd).
#
# COMPLETION_LISTING, when given, holds lines "- WORD..." (words offered
# with no command yet) and "CMD WORD..." (options offered after CMD), as
# printed by complete-listing.sh; it must match the help too.
import re
import sys

OPT = re.compile(r"(?<![\w-])(--?[a-zA-Z][\w-]*)")


def help_sections(text):
    """Splits the help into {"Options": [lines], "Commands": ...}."""
    sections, current = {}, None
    for line in text.splitlines():
        m = re.match(r"^([A-Z][\w ]*):\s*$", line)
        if m:
            current = m.group(1)
            sections[current] = []
        elif current:
            sections[current].append(line)
    return sections


def from_help(text):
    s = help_sections(text)
    out = {"options": set(), "commands": {}, "environment": set(),
           "exit": set()}
    for line in s.get("Options", []):
        m = re.match(r"^  (-\S.*?)(  |$)", line)
        if m:
            out["options"] |= set(OPT.findall(m.group(1)))
    for line in s.get("Commands", []):
        m = re.match(r"^  ([a-z][\w-]*)(.*)$", line)
        if m:
            synopsis = re.split(r"\s{2,}", m.group(2).strip())[0]
            out["commands"][m.group(1)] = set(OPT.findall(synopsis))
    for line in s.get("Environment", []):
        m = re.match(r"^  ([A-Z_][A-Z0-9_]*)\b", line)
        if m:
            out["environment"].add(m.group(1))
    for line in s.get("Exit status", []):
        m = re.match(r"^  ([0-9]+)\b", line)
        if m:
            out["exit"].add(m.group(1))
    return out


def man_sections(text):
    """{section: [definition terms]}: the unindented lines of a section."""
    sections, current = {}, None
    in_code = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        m = re.match(r"^# (.+)$", line)
        if m:
            current = m.group(1).strip()
            sections[current] = []
        elif current and line and not line[0].isspace():
            term = re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", "",
                          line.replace("*", ""))
            sections[current].append(term)
    return sections


def from_man(text):
    s = man_sections(text)
    out = {"options": set(), "commands": {}, "environment": set(),
           "exit": set()}
    for term in s.get("OPTIONS", []):
        if term.startswith("-"):
            out["options"] |= set(OPT.findall(term))
    for term in s.get("COMMANDS", []):
        m = re.match(r"^([a-z][\w-]*)(.*)$", term)
        if m:
            out["commands"][m.group(1)] = set(OPT.findall(m.group(2)))
    for term in s.get("ENVIRONMENT", []):
        m = re.match(r"^([A-Z_][A-Z0-9_]*)$", term)
        if m:
            out["environment"].add(m.group(1))
    for term in s.get("EXIT STATUS", []):
        m = re.match(r"^([0-9]+)$", term)
        if m:
            out["exit"].add(m.group(1))
    return out


def from_completion(text):
    out = {"options": set(), "commands": {}}
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == "-":
            for w in words[1:]:
                if w.startswith("-"):
                    out["options"].add(w)
                else:
                    out["commands"].setdefault(w, set())
        else:
            out["commands"].setdefault(words[0], set()).update(words[1:])
    return out


def compare(name, a, b, what):
    problems = []
    for key in ("options", "environment", "exit"):
        if key not in b:
            continue
        for x in sorted(a[key] - b[key]):
            problems.append(f"{what}: {key} '{x}' is in --help, not in {name}")
        for x in sorted(b[key] - a[key]):
            problems.append(f"{what}: {key} '{x}' is in {name}, not in --help")
    for cmd in sorted(set(a["commands"]) | set(b["commands"])):
        if cmd not in b["commands"]:
            problems.append(f"{what}: command '{cmd}' is in --help, not in {name}")
        elif cmd not in a["commands"]:
            problems.append(f"{what}: command '{cmd}' is in {name}, not in --help")
        elif a["commands"][cmd] != b["commands"][cmd]:
            problems.append(
                f"{what}: '{cmd}' options: --help {sorted(a['commands'][cmd])}, "
                f"{name} {sorted(b['commands'][cmd])}")
    return problems


def options_only(help_path, man_path):
    listed = set()
    for line in open(help_path).read().splitlines():
        m = re.match(r"^\s+(-\S.*?)(\s{2,}|$)", line)
        if m:
            listed |= set(OPT.findall(m.group(1)))
    man = from_man(open(man_path).read())["options"]
    problems = [f"option '{o}' is in --help, not in the man page"
                for o in sorted(listed - man)]
    problems += [f"option '{o}' is in the man page, not in --help"
                 for o in sorted(man - listed)]
    for p in problems:
        print(p)
    print(f"{len(listed)} options compared: {len(problems)} differences")
    return 1 if problems or not listed else 0


def main():
    if sys.argv[1] == "--options-only":
        return options_only(sys.argv[2], sys.argv[3])
    help_text = open(sys.argv[1]).read()
    h = from_help(help_text)
    if not h["commands"] or not h["options"]:
        print("could not read commands and options from --help")
        return 1
    problems = compare("thawctl.1", h, from_man(open(sys.argv[2]).read()),
                       "man page")
    if len(sys.argv) > 3:
        problems += compare("the bash completion", h,
                            from_completion(open(sys.argv[3]).read()),
                            "completion")
    for p in problems:
        print(p)
    print(f"{len(h['commands'])} commands, {len(h['options'])} options, "
          f"{len(h['environment'])} variables, {len(h['exit'])} statuses "
          f"compared: {len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
