#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Checks a recipe's package file lists against a staged install, as
# bitbake would split it: each FILES entry is a glob below the install
# root, and a folder it matches brings everything under it.  Every
# installed file must fall in exactly one package, and every entry must
# match something.  Also checks that the folders EXTRA_OECMAKE passes are
# the ones this build installed into, and the license checksum.
#
# usage: check-recipe.py RECIPE ROOT SOURCE_DIR
#        check-recipe.py --cmake-args RECIPE
# The second form prints, one per line, the -D arguments the recipe
# gives CMake: EXTRA_OECMAKE and those of the PACKAGECONFIG options it
# enables by default.
# The environment binds bitbake's folder variables (bb_libdir=...,
# bb_sbindir=...) to this build's, and names this build's CMake cache
# values (cmake_THAW_SYSTEMD_UNITDIR=...).
import glob
import hashlib
import os
import re
import sys


def parse(path):
    """The recipe's assignments, continuation lines joined."""
    text = open(path).read().replace("\\\n", " ")
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([\w:${}.\[\]-]+)\s*(\?\?=|\?=|\+=|=\+|=)\s*"(.*)"$', line)
        if not m:
            continue
        name, op, value = m.groups()
        if op == "+=":
            values[name] = (values.get(name, "") + " " + value).strip()
        elif op == "=+":
            values[name] = (value + " " + values.get(name, "")).strip()
        elif op in ("?=", "??=") and name in values:
            continue
        else:
            values[name] = value
    return values


def expander(bindings):
    def expand(s):
        for _ in range(10):
            new = re.sub(r"\$\{(\w+)\}",
                         lambda m: bindings.get(m.group(1), m.group(0)), s)
            if new == s:
                break
            s = new
        if "${" in s:
            raise SystemExit(f"cannot expand '{s}'")
        return s
    return expand


def entries(root, top):
    """Files, symlinks and empty folders at or under top."""
    found = set()
    if not os.path.isdir(top) or os.path.islink(top):
        return {"/" + os.path.relpath(top, root)}
    for dirpath, dirnames, filenames in os.walk(top):
        links = [d for d in dirnames
                 if os.path.islink(os.path.join(dirpath, d))]
        for n in filenames + links:
            found.add("/" + os.path.relpath(os.path.join(dirpath, n), root))
        if not dirnames and not filenames:
            found.add("/" + os.path.relpath(dirpath, root) + "/")
    return found


def installed(root):
    return entries(root, root) - {"/./"}


def matched(root, pattern):
    found = set()
    for p in glob.glob(root + pattern):
        found |= entries(root, p)
    return found


def check_license(values, source_dir, problems):
    for entry in values.get("LIC_FILES_CHKSUM", "").split():
        parts = entry.split(";")
        name = parts[0].removeprefix("file://")
        opts = dict(p.split("=", 1) for p in parts[1:])
        lines = open(os.path.join(source_dir, name), "rb").readlines()
        begin = int(opts.get("beginline", 1)) - 1
        end = int(opts.get("endline", len(lines)))
        md5 = hashlib.md5(b"".join(lines[begin:end])).hexdigest()
        if md5 != opts.get("md5"):
            problems.append(f"LIC_FILES_CHKSUM: {name} has md5 {md5}")


def check_cmake_args(values, expand, problems):
    for m in re.finditer(r"-D(\w+)=(\S+)", values.get("EXTRA_OECMAKE", "")):
        name, value = m.groups()
        here = os.environ.get("cmake_" + name)
        if here is not None and expand(value) != here:
            problems.append(f"EXTRA_OECMAKE: -D{name}={value} is "
                            f"{expand(value)} here, this build has {here}")


def load(recipe):
    values = parse(recipe)
    pn = os.path.basename(recipe).split("_")[0]
    bindings = {"PN": pn}
    bindings.update({k[3:]: v for k, v in os.environ.items()
                     if k.startswith("bb_")})
    bindings.update({k: v for k, v in values.items() if ":" not in k})
    return values, pn, expander(bindings)


def cmake_args(recipe):
    values, _, expand = load(recipe)
    args = expand(values.get("EXTRA_OECMAKE", "")).split()
    enabled = expand(values.get("PACKAGECONFIG", "")).split()
    for name, value in values.items():
        m = re.match(r"^PACKAGECONFIG\[([\w-]+)\]$", name)
        if m:
            fields = expand(value).split(",")
            on, off = fields[0], fields[1] if len(fields) > 1 else ""
            args += (on if m.group(1) in enabled else off).split()
    for a in args:
        print(a)
    return 0


def main():
    if sys.argv[1] == "--cmake-args":
        return cmake_args(sys.argv[2])
    recipe, root, source_dir = sys.argv[1:4]
    values, pn, expand = load(recipe)

    problems = []
    owner = {}
    for name, value in values.items():
        if not name.startswith("FILES:"):
            continue
        package = expand(name[len("FILES:"):])
        for pattern in expand(value).split():
            files = matched(root, pattern)
            if not files:
                problems.append(f"{package}: '{pattern}' matches nothing")
            for f in files:
                owner.setdefault(f, set()).add(package)

    packages = expand(values.get("PACKAGES", "")).split()
    for p in sorted({p for ps in owner.values() for p in ps}):
        if p != pn and not p.startswith(pn + "-") and p not in packages:
            problems.append(f"{p} has FILES but is not in PACKAGES")

    for f in sorted(installed(root)):
        ps = owner.get(f, set())
        if not ps:
            problems.append(f"{f} is in no package")
        elif len(ps) > 1:
            problems.append(f"{f} is in {len(ps)} packages: "
                            f"{' '.join(sorted(ps))}")
        else:
            print(f"{next(iter(ps)):20} {f}")

    check_license(values, source_dir, problems)
    check_cmake_args(values, expand, problems)
    for p in problems:
        print("FAIL:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
