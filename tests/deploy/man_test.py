#!/usr/bin/env python3
"""The manual pages callscope-probe(8) and callscope-collector(8), as built
(tools/, from --help): man(1) renders each without a warning; every option
row of `callscope-probe --help` is an option entry of the probe's page, and
every command of `callscope-collector --help` a subsection of the
collector's page holding exactly the option rows of `COMMAND --help`; the
page has the sections a manual page has; no "(default ...)" of --help is
lost; --version on both programs names the version the pages carry.

    man_test.py PROBE COLLECTOR MANDIR
"""
import gzip
import os
import re
import shutil
import subprocess
import sys

ROW = re.compile(r"^ {2,6}(?:-[A-Za-z0-9], )?--([a-z0-9-]+)(?: \S+)?$")
# an entry's tag at the page's indent (7); a short one has its text on the same line
ENTRY = re.compile(r"^ {7}(?:-[A-Za-z0-9], )?--([a-z0-9-]+)(?: [A-Z][A-Z0-9_:=|.-]*)?(?:$| +\S)")
COMMAND = re.compile(r"^  ([a-z][a-z-]+) +\S")
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def run(*argv):
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def help_rows(text):
    return {m.group(1) for m in map(ROW.match, text.splitlines()) if m}


def render(page):
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="200", MAN_KEEP_FORMATTING="")
    r = subprocess.run(["man", "--warnings", "-l", page], capture_output=True, text=True,
                       env=env)
    if r.returncode != 0:
        fail(f"man -l {page} exited {r.returncode}: {r.stderr.strip()}")
    if r.stderr.strip():
        fail(f"man --warnings -l {page} warned:\n{r.stderr}")
    # no overstriking (bold/underline) in the text compared
    return re.sub(r".\x08", "", r.stdout)


def sections(text):
    """{section name: its lines}; subsections of COMMANDS under 'COMMANDS/NAME'."""
    out, cur = {}, None
    for line in text.splitlines():
        if re.match(r"^[A-Z][A-Z ]+$", line):
            cur = line.strip()
        elif cur and cur.startswith("COMMANDS") and re.match(r"^   \S", line):
            cur = "COMMANDS/" + line.strip()
        if cur:
            out.setdefault(cur, []).append(line)
    return out


def entries(lines):
    return {m.group(1) for m in map(ENTRY.match, lines) if m}


def check_sections(name, secs, want):
    for s in want:
        if s not in secs:
            fail(f"{name}: no {s} section (has {sorted(k for k in secs if '/' not in k)})")


def defaults_kept(name, page, helps):
    roff = gzip.open(page, "rt").read()
    want = sum(h.count("(default") for h in helps)
    got = roff.count("(default")
    if got != want:
        fail(f"{name}: {want} '(default' in --help, {got} in the page")
    else:
        print(f"ok: {name}: all {want} defaults of --help are in the page")


def probe_page(probe, page):
    h = run(probe, "--help")
    text = render(page)
    secs = sections(text)
    check_sections("callscope-probe(8)", secs, ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS",
                                               "EXIT STATUS", "ENVIRONMENT", "FILES", "SIGNALS",
                                               "EXAMPLES", "SEE ALSO"])
    want, got = help_rows(h), entries(secs.get("OPTIONS", []))
    if want != got or len(want) < 40:
        fail(f"callscope-probe(8) OPTIONS: missing {sorted(want - got)}, extra {sorted(got - want)}")
    else:
        print(f"ok: callscope-probe(8) lists all {len(want)} options of --help")
    for code in ("0", "1", "2"):
        if not any(l.strip().startswith(code + " ") for l in secs.get("EXIT STATUS", [])):
            fail(f"callscope-probe(8): exit status {code} missing")
    defaults_kept("callscope-probe(8)", page, [h])


def collector_page(collector, page):
    h = run(collector, "--help")
    commands = []
    in_cmds = False
    for line in h.splitlines():
        if line == "Commands:":
            in_cmds = True
        elif not line.strip():
            in_cmds = False
        elif in_cmds and COMMAND.match(line):
            commands.append(COMMAND.match(line).group(1))
    if len(commands) < 10:
        fail(f"only {len(commands)} commands read from callscope-collector --help")
    text = render(page)
    secs = sections(text)
    check_sections("callscope-collector(8)", secs, ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS",
                                                   "COMMANDS", "EXIT STATUS", "ENVIRONMENT",
                                                   "FILES", "SIGNALS", "SEE ALSO"])
    subs = [k.split("/", 1)[1] for k in secs if k.startswith("COMMANDS/")]
    if subs != commands:
        fail(f"collector commands: --help {commands}, page {subs}")
    helps = [h]
    total = 0
    for c in commands:
        ch = run(collector, c, "--help")
        helps.append(ch)
        want, got = help_rows(ch), entries(secs.get("COMMANDS/" + c, []))
        if not want or want != got:
            fail(f"callscope-collector(8) {c}: missing {sorted(want - got)}, extra {sorted(got - want)}")
        total += len(want)
    if not failures:
        print(f"ok: callscope-collector(8) has all {len(commands)} commands, each with exactly "
              f"the {total} option rows of their --help")
    top = entries(secs.get("OPTIONS", []))
    if top != {"help", "version"}:
        fail(f"callscope-collector(8) OPTIONS: {sorted(top)}")
    codes = {l.strip().split()[0] for l in secs.get("EXIT STATUS", []) if re.match(r"^ +\d ", l)}
    if codes != {str(i) for i in range(8)}:
        fail(f"callscope-collector(8) EXIT STATUS codes {sorted(codes)}, want 0-7")
    defaults_kept("callscope-collector(8)", page, helps)


def versions(probe, collector, mandir):
    """--version on both programs, and the pages' footer says the same."""
    for prog, name in ((probe, "callscope-probe"), (collector, "callscope-collector")):
        v = run(prog, "--version").strip()
        if not re.fullmatch(name + r" \d+\.\d+\.\d+", v):
            fail(f"{name} --version printed {v!r}")
            continue
        roff = gzip.open(os.path.join(mandir, name + ".8.gz"), "rt").read()
        if f'"callscope {v.split()[1]}"' not in roff:
            fail(f"{name}(8) is not of version {v.split()[1]}")
        else:
            print(f"ok: {v}, and its page says so")


def main():
    probe, collector, mandir = sys.argv[1:4]
    if not shutil.which("man"):
        print("SKIP: no man (apt-get install man-db groff-base)")
        return 77
    versions(probe, collector, mandir)
    probe_page(probe, os.path.join(mandir, "callscope-probe.8.gz"))
    collector_page(collector, os.path.join(mandir, "callscope-collector.8.gz"))
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("PASS man pages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
