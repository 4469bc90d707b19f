"""Where a py-spy profile spends its samples: the functions with the most samples in their own
code (self) and anywhere on the stack (total), from `py-spy record --format raw` output.

    PYTHONPATH=src:. .venv/bin/python benchmarks/profile_top.py /tmp/profile/post.txt --top 25
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def frames(line: str) -> tuple[list[str], int]:
    stack, _, count = line.rpartition(" ")
    return [f.strip() for f in stack.split(";") if f.strip()], int(count)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--match", default="", help="count only stacks holding this text (a thread's root)")
    args = parser.parse_args()
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in args.profile.read_text().splitlines():
        if not line.strip():
            continue
        stack, count = frames(line)
        if not stack or (args.match and not any(args.match in f for f in stack)):
            continue
        samples += count
        own[stack[-1]] += count
        for frame in set(stack):
            total[frame] += count
    print(f"{samples} samples")
    for title, counter in (("self", own), ("total", total)):
        print(f"\n-- {title}")
        for frame, count in counter.most_common(args.top):
            print(f"{100 * count / max(samples, 1):5.1f}%  {frame}")


if __name__ == "__main__":
    main()
