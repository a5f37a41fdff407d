#!/usr/bin/env python3
"""Layer check: every `#include "module/..."` in src/<module>/ must name a module that the
including module's library reaches through the modules it lists in CMakeLists.txt
(rampart_module ... DEPS ...). A back-edge (a lower layer including a higher one) or an
undeclared edge fails the build with file:line and the fix.

usage: check_layers.py LAYERS_FILE SRC_DIR
LAYERS_FILE lines: "module: dep;dep;..." (written by CMake)."""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/[^"]+"', re.M)


def read_layers(path):
    deps = {}
    for line in open(path):
        if ":" not in line:
            continue
        name, rest = line.split(":", 1)
        deps[name.strip()] = [d for d in re.split(r"[;\s]+", rest.strip()) if d]
    return deps


def closure(deps, module):
    seen, todo = set(), list(deps.get(module, []))
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo.extend(deps.get(m, []))
    return seen


def check(deps, src):
    problems = []
    for module in sorted(os.listdir(src)):
        folder = os.path.join(src, module)
        if not os.path.isdir(folder):
            continue
        if module not in deps:
            problems.append(f"{folder}: module {module} has no rampart_module() line in CMakeLists.txt (add one with its DEPS)")
            continue
        allowed = closure(deps, module) | {module}
        for name in sorted(os.listdir(folder)):
            if not name.endswith((".cpp", ".hpp")):
                continue
            path = os.path.join(folder, name)
            text = open(path, errors="replace").read()
            for m in INCLUDE.finditer(text):
                target = m.group(1)
                if target in allowed or not os.path.isdir(os.path.join(src, target)):
                    continue
                line = text.count("\n", 0, m.start()) + 1
                upward = module in closure(deps, target)
                why = ("a back-edge: " + target + " is above " + module + " (it uses " + module + ")") if upward else \
                      (module + " does not list " + target + " in its DEPS")
                problems.append(f"{path}:{line}: {module} includes {m.group(0).strip()[9:].strip(chr(34))}: {why}; "
                                f"{module} may use: {', '.join(sorted(allowed - {module})) or 'nothing'}")
    return problems


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    problems = check(read_layers(sys.argv[1]), sys.argv[2])
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} layer violation(s): move the code to the right module, or pass values instead", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
