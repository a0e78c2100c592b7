#!/usr/bin/env python3
"""Bash completion (etc/bash-completion) against the programs as built:
`callscope-probe --<TAB>` offers exactly the option rows of its --help,
`callscope-collector <TAB>` every command of its --help (and --help,
--version), `callscope-collector CMD --<TAB>` exactly the option rows of
`CMD --help`; an option taking a FILE completes file names, a DIR
directories.

    completion_test.py SRC PROBE COLLECTOR
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROW = re.compile(r"^ {2,6}(?:-[A-Za-z0-9], )?(--[a-z0-9-]+)(?: (\S+))?$")
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def rows(*argv):
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return {m.group(1): m.group(2) for m in map(ROW.match, out.splitlines()) if m}


def complete(src, func, words, cword):
    """COMPREPLY of the completion function for these words."""
    script = (f"source {src}/etc/bash-completion/callscope-probe\n"
              f"source {src}/etc/bash-completion/callscope-collector\n"
              "COMP_WORDS=(\"$@\"); COMP_CWORD=" + str(cword) + "\n"
              f"{func}\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n")
    r = subprocess.run(["bash", "-c", script, "bash", *words], capture_output=True, text=True)
    return [l for l in r.stdout.splitlines() if l]


def main():
    src, probe, collector = sys.argv[1:4]
    if not shutil.which("bash"):
        print("SKIP: no bash")
        return 77
    want = rows(probe, "--help")
    got = complete(src, "_callscope_probe", [probe, "--"], 1)
    if set(got) != set(want) or len(want) < 40:
        fail(f"probe --<TAB>: missing {sorted(set(want) - set(got))}, extra {sorted(set(got) - set(want))}")
    else:
        print(f"ok: callscope-probe --<TAB> offers its {len(want)} options")
    with tempfile.TemporaryDirectory() as d:
        os.mkdir(os.path.join(d, "spooldir"))
        open(os.path.join(d, "spoolfile"), "w").close()
        got = complete(src, "_callscope_probe", [probe, "--spool-dir", d + "/spool"], 2)
        if got != [d + "/spooldir"]:
            fail(f"--spool-dir DIR completes {got}")
        got = complete(src, "_callscope_probe", [probe, "--key", d + "/spool"], 2)
        if sorted(got) != [d + "/spooldir", d + "/spoolfile"]:
            fail(f"--key FILE completes {got}")
        if complete(src, "_callscope_probe", [probe, "--batch-ms", ""], 2):
            fail("--batch-ms MS offers something")
    help_top = subprocess.run([collector, "--help"], capture_output=True, text=True).stdout
    cmds = re.findall(r"^  ([a-z][a-z-]+) ", help_top.split("Commands:")[1].split("\n\n")[0], re.M)
    got = complete(src, "_callscope_collector", [collector, ""], 1)
    if set(got) != set(cmds) | {"--help", "--version"} or len(cmds) < 10:
        fail(f"collector <TAB>: {got}, want {cmds}")
    else:
        print(f"ok: callscope-collector <TAB> offers its {len(cmds)} commands")
    n = 0
    for c in cmds:
        want = rows(collector, c, "--help")
        got = complete(src, "_callscope_collector", [collector, c, "--"], 2)
        n += len(want)
        if set(got) != set(want) or not want:
            fail(f"collector {c} --<TAB>: missing {sorted(set(want) - set(got))}, extra {sorted(set(got) - set(want))}")
    if not failures:
        print(f"ok: each command's --<TAB> offers exactly its options ({n} in all)")
    if failures:
        return 1
    print("PASS completion")
    return 0


if __name__ == "__main__":
    sys.exit(main())
