"""Fail when line or branch coverage drops under the project's floors."""

from __future__ import annotations

import argparse
import json
import sys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("report")
    parser.add_argument("--lines", type=float, required=True)
    parser.add_argument("--branches", type=float, required=True)
    args = parser.parse_args()
    totals = json.load(open(args.report))["totals"]
    lines = 100.0 * totals["covered_lines"] / max(totals["num_statements"], 1)
    branches = 100.0 * totals["covered_branches"] / max(totals["num_branches"], 1)
    print(f"coverage: lines {lines:.1f}% (floor {args.lines}%), branches {branches:.1f}% (floor {args.branches}%)")
    if lines < args.lines or branches < args.branches:
        print("coverage is under the floor", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
