#!/usr/bin/env python3
"""What a schemathesis pass says about Roster, read from its JUnit report.

    schemathesis_verdict.py verdict REPORT.xml   exit 0: clean; 1: Roster answered wrongly (a
                                                 failed check, or Roster unreachable); 2: only
                                                 errors inside schemathesis itself
    schemathesis_verdict.py clip [MAX]           copies stdin to stdout, cutting lines longer
                                                 than MAX characters (default 2000)

A failed check (a 5xx, a response outside its document) is always Roster's. An error is the
tool's own (a hypothesis FlakyFailure, a CPython SystemError while generating a body) unless it
says Roster could not be reached, which is Roster's too.
"""

import re
import sys
import xml.etree.ElementTree as ElementTree

# Errors that mean Roster did not answer: never the tool's fault.
UNREACHABLE = re.compile(
    r"connection (refused|reset|aborted)|ConnectionError|RemoteDisconnected|"
    r"Max retries exceeded|timed out|Timeout|EOF occurred",
    re.IGNORECASE,
)


def first_line(text):
    return (text or "").strip().splitlines()[0][:300] if (text or "").strip() else ""


def verdict(path):
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError) as e:
        # schemathesis stopped before writing its report: its own failure (whether Roster still
        # answers is checked apart).
        print(f"no readable schemathesis report at {path}: {e}")
        return 2
    failures, roster_errors, tool_errors = [], [], []
    for case in root.iter("testcase"):
        name = case.get("name", "?")
        for f in case.findall("failure"):
            failures.append(f"{name}: {f.get('message') or first_line(f.text)}")
        for e in case.findall("error"):
            text = (e.get("message") or "") + "\n" + (e.text or "")
            line = f"{name}: {first_line(e.text) or e.get('message')}"
            (roster_errors if UNREACHABLE.search(text) else tool_errors).append(line)
    for label, items in (
        ("wrong responses from Roster", failures),
        ("Roster unreachable", roster_errors),
        ("errors inside schemathesis (not Roster's)", tool_errors),
    ):
        if items:
            print(f"{label}: {len(items)}")
            for item in items[:20]:
                print(f"  {item}")
    if failures or roster_errors:
        return 1
    return 2 if tool_errors else 0


def clip(limit):
    for line in sys.stdin:
        line = line.rstrip("\n")
        if len(line) > limit:
            line = f"{line[:limit]} [... {len(line) - limit} more characters cut]"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "verdict":
        sys.exit(verdict(sys.argv[2]))
    if len(sys.argv) >= 2 and sys.argv[1] == "clip":
        sys.exit(clip(int(sys.argv[2]) if len(sys.argv) > 2 else 2000))
    print(__doc__, file=sys.stderr)
    sys.exit(64)
