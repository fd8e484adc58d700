"""The promotion gate: may a retrained candidate replace the served model?

``decide(candidate, served)`` compares two evaluations made on the same slices (the fixed base
test split, the contributions' test slice, the "none of these" drawings) and promotes only if
no per-class recall, no macro accuracy and no rejection rate gets worse by more than its
tolerance *and* beyond the noise of the slice: the candidate's 95% confidence interval
(Wilson's, for a share of drawings) must lie wholly on the worse side of the served value.
A slice or class with too few drawings to tell anything is shown as "not judged", with the
reason. It returns every check, passed or not, so the report can say why. ``write_report``
writes the side-by-side Markdown report, whichever way the decision went.

An evaluation is a mapping ``slice name -> metrics``. Which checks apply depends on the
fields a slice has, so the gate does not need to know how the slices were made:

* ``macro_accuracy`` and ``per_class`` (``{name: {"recall", "support"}}``), as written by
  ``training.evaluate.metrics_from_confusion``: recalls and macro accuracy must not drop;
* ``rejection_rate``: the share of "none of these" drawings the model rejects, must not drop;
* ``false_rejection_rate``: the share of real accessories it rejects, must not rise;
* ``count``: the number of drawings, which must be equal on both sides (same slice).

Pure: no TensorFlow, no files except ``write_report``'s output.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# How much worse a class's recall may get. Chance is the confidence interval's business (a
# rare class's 20 base test drawings cannot refuse a candidate for one or two misses), so
# this only says how much matters, measured on the shipped model (docs/retraining.md): 300
# honest contributions cost bowtie at most 0.020 of its 1,000 test drawings, 300 umbrellas
# labelled "sock" cost umbrella 0.035 of its 2,100. 0.03 lets the first through, not the second.
RECALL_TOLERANCE = 0.03
# The macro accuracy averages six recalls, so one rare drawing moves it by 0.008; 0.02
# allows two such drawings and no more, and still catches a single class collapsing.
MACRO_TOLERANCE = 0.02
# Rejection rates are measured on a few hundred drawings (1/400 = 0.0025 each); 0.05 is
# about 20 of them, beyond what a changed threshold crossing for a handful of drawings does.
REJECTION_TOLERANCE = 0.05
# A class with fewer test drawings than this in a slice (typically the contributions' test
# slice early on) is shown but not judged: with 3 drawings one miss is a 0.33 drop.
MIN_SUPPORT = 10
BASE_SLICE = "base test"  # The fixed test split's accessories (training.retrain names the slices).
CONTRIBUTIONS_SLICE = "contributions test"
# Metrics are ratios of small integers; compare with a margin so 1/20 counts as 0.05.
EPSILON = 1e-9
# Two-sided 95% confidence: a candidate is refused for a drop only when its interval lies
# below the served value, so one unlucky drawing among 20 cannot refuse it, while a real
# collapse on a big class (or a poisoned batch) always can.
Z_95 = 1.959963984540054


def wilson_interval(share: float, count: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson's score interval of a share measured on ``count`` drawings (sound at 0, 1 and small counts)."""
    if count <= 0:
        return 0.0, 1.0
    centre = (share + z * z / (2 * count)) / (1 + z * z / count)
    half = z / (1 + z * z / count) * math.sqrt(share * (1 - share) / count + z * z / (4 * count * count))
    return max(0.0, centre - half), min(1.0, centre + half)


def macro_interval(recalls: list[tuple[float, int]], z: float = Z_95) -> tuple[float, float]:
    """A normal interval of a mean of recalls, each with its own count (classes are independent samples).

    Each recall's variance uses the Agresti-Coull share (successes + 2) / (count + 4), so a
    class at 1.000 still counts as uncertain.
    """
    variance = 0.0
    for recall, count in recalls:
        adjusted = (recall * count + 2) / (count + 4)
        variance += adjusted * (1 - adjusted) / (count + 4)
    mean = sum(recall for recall, _ in recalls) / len(recalls)
    half = z * math.sqrt(variance) / len(recalls)
    return max(0.0, mean - half), min(1.0, mean + half)


@dataclass(frozen=True)
class Tolerances:
    """How much each kind of metric may get worse before a candidate is refused."""

    recall: float = RECALL_TOLERANCE
    macro_accuracy: float = MACRO_TOLERANCE
    rejection: float = REJECTION_TOLERANCE
    min_support: int = MIN_SUPPORT

    def __post_init__(self) -> None:
        """Refuse negative tolerances, which would refuse even an identical model."""
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value < 0:
                raise ValueError(f"tolerance {field.name} must be at least 0, not {value}")


@dataclass(frozen=True)
class Check:
    """One metric on one slice, served vs candidate, and whether the candidate passes it."""

    slice: str
    metric: str  # "macro accuracy", "recall <class>", "rejection rate", "false rejection rate".
    served: float | None
    candidate: float | None
    tolerance: float
    higher_is_better: bool = True
    judged: bool = True  # False: shown only (too few drawings to tell).
    note: str = ""
    # The candidate's 95% confidence interval; None: judged on the bare difference.
    interval: tuple[float, float] | None = None

    @property
    def loss(self) -> float:
        """How much worse the candidate is (negative when it is better); 0 when either side is missing."""
        if self.served is None or self.candidate is None:
            return 0.0
        change = self.candidate - self.served
        return -change if self.higher_is_better else change

    @property
    def within_noise(self) -> bool:
        """True when the candidate's interval still reaches the served value: the drop may be chance."""
        if self.interval is None or self.served is None:
            return False
        low, high = self.interval
        return high >= self.served - EPSILON if self.higher_is_better else low <= self.served + EPSILON

    @property
    def passed(self) -> bool:
        """True unless the check is judged and the candidate is worse beyond both tolerance and noise."""
        return not self.judged or self.loss <= self.tolerance + EPSILON or self.within_noise

    @property
    def reason(self) -> str:
        """One sentence saying what got worse, for a refused candidate."""
        direction = "dropped" if self.higher_is_better else "rose"
        interval = "" if self.interval is None else \
            f"; 95% interval {self.interval[0]:.3f}-{self.interval[1]:.3f}"
        return (f"{self.slice}: {self.metric} {direction} from {self.served:.3f} to "
                f"{self.candidate:.3f} ({self.loss:+.3f} worse; tolerance {self.tolerance:.3f}{interval})")


@dataclass(frozen=True)
class Decision:
    """The gate's verdict and every check it made."""

    promote: bool
    checks: tuple[Check, ...]
    tolerances: Tolerances

    @property
    def failures(self) -> list[Check]:
        """The checks the candidate failed, worst first."""
        return sorted((check for check in self.checks if not check.passed), key=lambda c: -c.loss)

    @property
    def reasons(self) -> list[str]:
        """Why the candidate was refused (empty when it is promoted)."""
        return [check.reason for check in self.failures]

    def summary(self) -> str:
        """One line for the console."""
        if self.promote:
            judged = sum(check.judged for check in self.checks)
            return f"promote: the candidate passed all {judged} judged checks"
        return f"refuse: {len(self.failures)} check(s) failed; worst: {self.reasons[0]}"


def _too_few(count: int | None, tolerances: Tolerances) -> str:
    """The "not judged" note for a share measured on fewer drawings than ``min_support``, or ""."""
    if count is None or count >= tolerances.min_support:
        return ""
    return (f"not judged: {count} drawing{'s' if count != 1 else ''} "
            f"(fewer than {tolerances.min_support}; one drawing moves it by {1 / max(count, 1):.3f})")


def _share_check(name: str, metric: str, served: float | None, candidate: float | None, count: int | None,
                 tolerance: float, tolerances: Tolerances, higher_is_better: bool = True) -> Check:
    """A check of one share of ``count`` drawings, judged with the candidate's Wilson interval."""
    note = _too_few(count, tolerances)
    interval = wilson_interval(candidate, count) if candidate is not None and count else None
    return Check(name, metric, served, candidate, tolerance, higher_is_better=higher_is_better,
                 judged=not note, note=note, interval=interval)


def _slice_checks(name: str, served: Mapping[str, Any], candidate: Mapping[str, Any],
                  tolerances: Tolerances) -> list[Check]:
    """The checks that apply to one slice, from the fields it has."""
    if served.get("count") is not None and candidate.get("count") is not None \
            and served["count"] != candidate["count"]:
        raise ValueError(f"slice {name!r} has {served['count']} drawings for the served model but "
                         f"{candidate['count']} for the candidate: evaluate both on the same slice")
    # Without a count (hand-made evaluations) a share is judged on its bare difference.
    count = served.get("count", candidate.get("count"))
    checks = []
    served_classes = served.get("per_class", {})
    candidate_classes = candidate.get("per_class", {})
    if "macro_accuracy" in served or "macro_accuracy" in candidate:
        measured = [(scores["recall"], int(scores.get("support", 0)))
                    for scores in candidate_classes.values()
                    if scores.get("recall") is not None and scores.get("support")]
        note = _too_few(count, tolerances)
        checks.append(Check(name, "macro accuracy", served.get("macro_accuracy"), candidate.get("macro_accuracy"),
                            tolerances.macro_accuracy, judged=not note, note=note,
                            interval=macro_interval(measured) if measured else None))
    for category in list(served_classes) + [c for c in candidate_classes if c not in served_classes]:
        before = served_classes.get(category, {})
        after = candidate_classes.get(category, {})
        support = int(before.get("support", after.get("support", 0)) or 0)
        if before.get("recall") is None and after.get("recall") is None:
            continue  # No drawings of this class in the slice: nothing to compare.
        checks.append(_share_check(name, f"recall {category}", before.get("recall"), after.get("recall"),
                                   support, tolerances.recall, tolerances))
    if "rejection_rate" in served or "rejection_rate" in candidate:
        checks.append(_share_check(name, "rejection rate", served.get("rejection_rate"),
                                   candidate.get("rejection_rate"), count, tolerances.rejection, tolerances))
    if "false_rejection_rate" in served or "false_rejection_rate" in candidate:
        checks.append(_share_check(name, "false rejection rate", served.get("false_rejection_rate"),
                                   candidate.get("false_rejection_rate"), count, tolerances.rejection,
                                   tolerances, higher_is_better=False))
    for check in checks:
        if check.judged and (check.served is None or check.candidate is None):
            raise ValueError(f"slice {name!r}: {check.metric} is missing for the "
                             f"{'served model' if check.served is None else 'candidate'}")
    return checks


def label_checks(served: Mapping[str, Mapping[str, Any]], tolerances: Tolerances,
                 contributions: str = CONTRIBUTIONS_SLICE, reference: str = BASE_SLICE) -> list[Check]:
    """Do the served model's answers agree with the contributions' labels as well as with the base test's?

    A poisoned batch diluted in honest ones can cost the candidate less than the tolerance on
    the fixed test split, but the served model, trained before it, disagrees with its labels:
    it calls the contributed "bowties" umbrellas. Per class with enough contributed test
    drawings, the served model's recall on them must not be below its recall on the base
    test's by more than the recall tolerance, beyond chance (Wilson interval).
    """
    if contributions not in served or reference not in served:
        return []
    checks = []
    base_classes = served[reference].get("per_class", {})
    for category, scores in served[contributions].get("per_class", {}).items():
        expected = (base_classes.get(category) or {}).get("recall")
        if scores.get("recall") is None or expected is None:
            continue
        check = _share_check(contributions, f"served model agrees with label {category}", expected,
                             scores["recall"], int(scores.get("support", 0)), tolerances.recall, tolerances)
        checks.append(check)
    return checks


def decide(candidate: Mapping[str, Mapping[str, Any]], served: Mapping[str, Mapping[str, Any]],
           tolerances: Tolerances = Tolerances()) -> Decision:
    """Promote the candidate only if no judged metric on any slice is worse by more than its tolerance."""
    if set(candidate) != set(served):
        raise ValueError(f"the two evaluations cover different slices: candidate {sorted(candidate)} "
                         f"vs served {sorted(served)}")
    if not served:
        raise ValueError("nothing to compare: the evaluations have no slices")
    checks = [check for name in served for check in _slice_checks(name, served[name], candidate[name], tolerances)]
    checks += label_checks(served, tolerances)
    return Decision(promote=all(check.passed for check in checks), checks=tuple(checks), tolerances=tolerances)


def _number(value: float | None) -> str:
    """A metric for the report table."""
    return "—" if value is None else f"{value:.3f}"


def format_report(decision: Decision, context: Mapping[str, Any] | None = None) -> str:
    """The side-by-side report as Markdown: verdict, reasons, tolerances, then every check per slice."""
    lines = ["# Retraining report", ""]
    verdict = "**PROMOTED**" if decision.promote else "**REFUSED**"
    lines += [f"Verdict: {verdict}. {decision.summary()}.", ""]
    if not decision.promote:
        lines += ["Why the candidate was refused:", ""]
        lines += [f"- {reason}" for reason in decision.reasons]
        lines.append("")
    if context:
        lines += ["| | |", "| --- | --- |"]
        lines += [f"| {key} | {value} |" for key, value in context.items()]
        lines.append("")
    t = decision.tolerances
    lines += [f"Tolerances (how much worse the candidate may be): per-class recall {t.recall:.3f}, "
              f"macro accuracy {t.macro_accuracy:.3f}, rejection rates {t.rejection:.3f}; a candidate "
              "is refused for a drop only when it exceeds the tolerance and its 95% interval lies wholly "
              f"below the served value; a class or slice with fewer than {t.min_support} drawings is "
              "shown but not judged.", ""]
    for name in dict.fromkeys(check.slice for check in decision.checks):
        lines += [f"## {name}", "", "| metric | served | candidate | candidate 95% interval | change | verdict |",
                  "| --- | ---: | ---: | ---: | ---: | --- |"]
        for check in (c for c in decision.checks if c.slice == name):
            change = ("—" if check.served is None or check.candidate is None
                      else f"{check.candidate - check.served:+.3f}")
            verdict_cell = check.note or (
                "**worse than tolerance**" if not check.passed
                else "worse than tolerance, within the noise" if check.loss > check.tolerance + EPSILON
                else "ok")
            interval = "—" if check.interval is None else f"{check.interval[0]:.3f}-{check.interval[1]:.3f}"
            lines.append(f"| {check.metric} | {_number(check.served)} | {_number(check.candidate)} "
                         f"| {interval} | {change} | {verdict_cell} |")
        lines.append("")
    return "\n".join(lines)


def write_report(decision: Decision, path: Path, context: Mapping[str, Any] | None = None) -> Path:
    """Write the Markdown report to ``path`` (folders created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(format_report(decision, context) + "\n")
    return path
