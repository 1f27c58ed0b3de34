"""Throughput of the DUO matcher's core on one core: `python -m tests.perf.bench_matcher`.

Target: at least 20,000 matches per second for a DS profile with five diseases and three
modifiers against a purpose with three diseases. The case is the matcher's longest path: every
purpose disease is looked up in the closure, all fit, and every reason is worded (with labels).
Not a pytest module on purpose: timings in a shared test run are noise.
"""

from __future__ import annotations

import sys
import time

from datasets.duo import (
    DS,
    GSO,
    NPU,
    PUB,
    ApplicantFacts,
    DataUse,
    Modifier,
    Primary,
    ResearchPurpose,
)
from datasets.duo_matcher import MONDO_TSV, Decision, load_ancestor_closure, match

TARGET = 20_000
REPEATS = 5
BATCH = 20_000

PROFILE = DataUse(
    permission=DS,
    diseases=(
        "MONDO:0004992",  # cancer
        "MONDO:0005015",  # diabetes mellitus
        "MONDO:0005044",  # hypertensive disorder
        "MONDO:0005148",  # type 2 diabetes mellitus
        "MONDO:0005301",  # multiple sclerosis
    ),
    modifiers=(Modifier(NPU), Modifier(GSO), Modifier(PUB)),
)
PURPOSE = ResearchPurpose(
    primary=Primary.DISEASE,
    diseases=(
        "MONDO:0007254",  # breast cancer
        "MONDO:0008170",  # ovarian cancer
        "MONDO:0005148",  # type 2 diabetes mellitus
    ),
    genetic_study=True,
)
FACTS = ApplicantFacts(user="researcher-1", institution="https://ror.org/040af2s02", for_profit_organisation=False)


def _labels() -> dict[str, str]:
    with open(MONDO_TSV, encoding="utf-8") as f:
        next(f)
        return dict(line.split("\t", 2)[:2] for line in f)


def main() -> int:
    ancestors = load_ancestor_closure()
    labels = _labels()
    result = match(PROFILE, PURPOSE, FACTS, ancestors=ancestors, labels=labels)
    # A benchmark of the wrong path would flatter the figure: insist on the full approve path.
    assert result.decision is Decision.APPROVE, result.to_json()
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(BATCH):
            match(PROFILE, PURPOSE, FACTS, ancestors=ancestors, labels=labels)
        best = min(best, time.perf_counter() - start)
    rate = BATCH / best
    print(
        f"matcher: {rate:,.0f} matches/s (DS with 5 diseases + 3 modifiers vs purpose with 3 diseases, "
        f"best of {REPEATS} runs of {BATCH:,})"
    )
    return 0 if rate >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
