"""Just enough PromQL reading for checks on the shipped alerts and dashboard: the metric names an
expression reads, and the label names and label values it filters or groups on."""

from __future__ import annotations

import re

FUNCTIONS = {"histogram_quantile", "clamp_min", "count_over_time"}
MATCHER = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"')
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
COMPARISON = re.compile(r"^(?P<inner>.*\S)\s*(?:>=|<=|==|!=|>|<)\s*[-+0-9.eE]+$", re.S)


def metrics(expr: str) -> set[str]:
    without_labels = re.sub(r"\{[^}]*\}", "", expr)
    without_keywords = GROUPING.sub("", without_labels)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_keywords)
    without_strings = re.sub(r'"[^"]*"', "", without_ranges)
    tokens = set(re.findall(r"\b[A-Za-z_:][A-Za-z0-9_:]*\b", without_strings))
    # metric names have an underscore, function names too; `up` is Prometheus' own per target
    return {t for t in tokens if ("_" in t or t == "up") and t not in FUNCTIONS}


def matchers(expr: str) -> list[tuple[str, str, str]]:
    """(label, operator, value) of every label matcher inside braces."""
    found: list[tuple[str, str, str]] = []
    for braces in re.findall(r"\{([^}]*)\}", expr):
        found.extend(MATCHER.findall(braces))
    return found


def grouping_labels(expr: str) -> set[str]:
    labels: set[str] = set()
    for inside in GROUPING.findall(expr):
        labels.update(name.strip() for name in inside.split(",") if name.strip())
    return labels


def without_threshold(expr: str) -> str:
    """`x > 0.05` → `x`: the figure an alert compares, to read it while the alert is quiet."""
    found = COMPARISON.match(expr.strip())
    return found.group("inner") if found else expr
