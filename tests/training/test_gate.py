"""The promotion gate: table-driven decisions, the poisoning case, errors and the report."""

from __future__ import annotations

import pytest

from training import gate

CLASSES = ("bowtie", "lipstick", "purse", "sock", "umbrella", "wristwatch")
SUPPORT = {"bowtie": 1000, "lipstick": 20, "purse": 20, "sock": 20, "umbrella": 2000, "wristwatch": 20}
SERVED_RECALL = {"bowtie": 0.95, "lipstick": 0.95, "purse": 0.85, "sock": 0.85, "umbrella": 0.986,
                 "wristwatch": 0.85}


def accessory_slice(recalls: dict[str, float], support: dict[str, int] | None = None,
                    false_rejection: float = 0.02) -> dict:
    """A slice as evaluate writes it: per-class recall and support, their mean, the count."""
    support = support or SUPPORT
    return {
        "macro_accuracy": sum(recalls.values()) / len(recalls),
        "count": sum(support.values()),
        "per_class": {name: {"recall": recalls[name], "support": support[name]} for name in recalls},
        "false_rejection_rate": false_rejection,
    }


def evaluation(recall_changes: dict[str, float] | None = None, rejection: float = 0.60,
               false_rejection: float = 0.02, contribution_recalls: dict[str, float] | None = None) -> dict:
    """Base test, contributions' test and "none of these" slices, with some recalls changed."""
    recalls = {name: SERVED_RECALL[name] + (recall_changes or {}).get(name, 0.0) for name in CLASSES}
    contributions = contribution_recalls or {"sock": 0.9, "umbrella": 0.99}
    return {
        "base test": accessory_slice(recalls, false_rejection=false_rejection),
        "contributions test": accessory_slice(contributions, {name: 40 for name in contributions}),
        "none of these": {"rejection_rate": rejection, "count": 400},
    }


SERVED = evaluation()


def with_big_contributions(recall: float) -> dict:
    """An evaluation whose contributions' test slice has 500 socks and 500 purses, both at ``recall``."""
    result = evaluation()
    result["contributions test"] = accessory_slice({"sock": recall, "purse": recall}, {"sock": 500, "purse": 500})
    return result


@pytest.mark.parametrize(("candidate", "promote", "failed"), [
    (evaluation(), True, []),
    # Better everywhere.
    (evaluation({"sock": 0.1, "wristwatch": 0.15}, rejection=0.7), True, []),
    # One rare drawing fewer (1/20) is within the recall tolerance, and the macro mean moves 0.008.
    (evaluation({"purse": -0.05}), True, []),
    # Two rare drawings fewer (0.85 -> 0.75) is beyond the tolerance but not beyond chance:
    # 15 of 20 is consistent with 0.85 (95% interval 0.53-0.89).
    (evaluation({"purse": -0.10}), True, []),
    # Five of 20 (0.85 -> 0.60, interval 0.39-0.78) is a real loss.
    (evaluation({"purse": -0.25}), False, ["base test: recall purse"]),
    # A big class losing 6 points of 1,000 drawings fails alone.
    (evaluation({"bowtie": -0.06}), False, ["base test: recall bowtie"]),
    # Small losses in several rare classes: each recall and their mean stay within the noise.
    (evaluation({"lipstick": -0.05, "purse": -0.05, "sock": -0.05}), True, []),
    # Small losses in two well-measured classes: each recall within its tolerance, their mean is not.
    (with_big_contributions(0.875), False, ["contributions test: macro accuracy"]),
    # The shipped model's measured cases: 300 honest contributions cost bowtie 0.020 of 1,000
    # drawings; 300 umbrellas labelled "sock" cost umbrella 0.035 of 2,000.
    (evaluation({"bowtie": -0.020}), True, []),
    (evaluation({"umbrella": -0.035}), False, ["base test: recall umbrella"]),
    # Rejecting fewer "none of these" drawings.
    (evaluation(rejection=0.54), False, ["none of these: rejection rate"]),
    (evaluation(rejection=0.56), True, []),
    # Rejecting more real accessories.
    (evaluation(false_rejection=0.08), False, ["base test: false rejection rate"]),
    # The poisoning case: umbrellas labelled "sock" teach the candidate to call umbrellas
    # socks. It gets better on the poisoned contributions (they are "socks" to it) and worse
    # on the real umbrellas and socks of the fixed base test split (the socks' 3 of 20 within chance).
    (evaluation({"umbrella": -0.40, "sock": -0.15}, contribution_recalls={"sock": 1.0, "umbrella": 0.99}),
     False, ["base test: recall umbrella", "base test: macro accuracy"]),
], ids=["same", "better", "one-rare-drawing", "two-rare-drawings", "five-rare-drawings", "big-class",
        "rare-classes-within-noise", "macro-only", "honest-shipped", "poisoned-shipped", "rejection-drop", "rejection-within", "false-rejection",
        "poisoning"])
def test_decisions(candidate, promote, failed):
    """Each case promotes or refuses, naming exactly the failed checks (worst first)."""
    served = with_big_contributions(0.90) if candidate["contributions test"]["count"] == 1000 else SERVED
    decision = gate.decide(candidate, served)
    assert decision.promote is promote
    assert [f"{check.slice}: {check.metric}" for check in decision.failures] == failed
    assert len(decision.reasons) == len(failed)
    assert decision.summary().startswith("promote" if promote else "refuse")


def test_reason_names_the_metric_and_the_numbers():
    """A refusal says which metric fell, from what to what, and the tolerance."""
    decision = gate.decide(evaluation({"umbrella": -0.40}), SERVED)
    assert decision.reasons[0] == ("base test: recall umbrella dropped from 0.986 to 0.586 "
                                   "(+0.400 worse; tolerance 0.030; 95% interval 0.564-0.607)")


def test_a_slice_too_small_to_tell_is_not_judged():
    """A contributions' test slice of 2 drawings says "not judged" and why, whatever its figures do."""
    served, candidate = evaluation(), evaluation()
    served["contributions test"] = accessory_slice({"sock": 1.0, "umbrella": 1.0}, {"sock": 1, "umbrella": 1})
    candidate["contributions test"] = accessory_slice({"sock": 0.0, "umbrella": 0.0}, {"sock": 1, "umbrella": 1},
                                                      false_rejection=1.0)
    decision = gate.decide(candidate, served)
    assert decision.promote
    small = [check for check in decision.checks
             if check.slice == "contributions test" and not check.metric.startswith("served model agrees")]
    assert {check.metric for check in small} == {"macro accuracy", "recall sock", "recall umbrella",
                                                 "false rejection rate"}
    assert all(not check.judged for check in small)
    macro = next(check for check in small if check.metric == "macro accuracy")
    assert macro.note == "not judged: 2 drawings (fewer than 10; one drawing moves it by 0.500)"
    assert "not judged: 2 drawings" in gate.format_report(decision)


def test_wilson_interval():
    """Wilson's interval: the textbook values, sound at 0 and 1, and empty counts know nothing."""
    low, high = gate.wilson_interval(0.85, 20)
    assert (round(low, 3), round(high, 3)) == (0.640, 0.948)
    assert gate.wilson_interval(1.0, 2)[0] == pytest.approx(0.342, abs=1e-3)
    assert gate.wilson_interval(0.0, 10)[0] == 0.0
    assert gate.wilson_interval(0.5, 0) == (0.0, 1.0)


def test_small_classes_are_shown_but_not_judged():
    """A class with fewer drawings than min_support in a slice cannot refuse a candidate."""
    served = evaluation(contribution_recalls={"sock": 1.0})
    served["contributions test"] = accessory_slice({"sock": 1.0}, {"sock": 3})
    candidate = evaluation()
    candidate["contributions test"] = accessory_slice({"sock": 0.333}, {"sock": 3})
    decision = gate.decide(candidate, served, gate.Tolerances(macro_accuracy=1.0))
    assert decision.promote
    check = next(c for c in decision.checks if c.metric == "recall sock" and c.slice == "contributions test")
    assert not check.judged and check.note.startswith("not judged: 3 drawings")
    assert not gate.decide(candidate, served, gate.Tolerances(macro_accuracy=1.0, min_support=3)).promote


@pytest.mark.parametrize(("tolerances", "promote"), [
    (gate.Tolerances(), False),
    (gate.Tolerances(recall=0.10), True),
    (gate.Tolerances(recall=0.0), False),
])
def test_tolerances_override(tolerances, promote):
    """Flags can loosen or tighten the gate."""
    assert gate.decide(evaluation({"bowtie": -0.06}), SERVED, tolerances).promote is promote


def test_zero_tolerance_accepts_an_identical_model():
    """With every tolerance 0, only a candidate no worse anywhere passes."""
    assert gate.decide(SERVED, SERVED, gate.Tolerances(0.0, 0.0, 0.0, 0)).promote


@pytest.mark.parametrize(("candidate", "served", "message"), [
    ({"a": {"rejection_rate": 0.5}}, {"b": {"rejection_rate": 0.5}}, "different slices"),
    ({}, {}, "no slices"),
    ({"a": {"rejection_rate": 0.5, "count": 10}}, {"a": {"rejection_rate": 0.5, "count": 11}}, "same slice"),
    ({"a": {"macro_accuracy": 0.5}}, {"a": {"rejection_rate": 0.5}}, "missing"),
])
def test_bad_evaluations(candidate, served, message):
    """Evaluations that cannot be compared are refused with a ValueError, not a verdict."""
    with pytest.raises(ValueError, match=message):
        gate.decide(candidate, served)


def test_negative_tolerance_is_refused():
    """A negative tolerance would refuse an identical model."""
    with pytest.raises(ValueError, match="at least 0"):
        gate.Tolerances(recall=-0.01)


@pytest.mark.parametrize("promote", [True, False])
def test_report_is_written_either_way(tmp_path, promote):
    """The report holds the verdict, the reasons when refused, context and a row per check."""
    candidate = SERVED if promote else evaluation({"umbrella": -0.40})
    decision = gate.decide(candidate, SERVED)
    path = gate.write_report(decision, tmp_path / "runs" / "report.md", {"served version": "abc123"})
    text = path.read_text()
    assert ("**PROMOTED**" in text) is promote
    assert ("Why the candidate was refused" in text) is not promote
    assert "| served version | abc123 |" in text
    for heading in ("## base test", "## contributions test", "## none of these"):
        assert heading in text
    assert text.count("| recall ") == len(CLASSES) + 2
    if not promote:
        assert "recall umbrella dropped from 0.986 to 0.586" in text
        assert "**worse than tolerance**" in text


def test_contributions_the_served_model_disagrees_with_are_refused():
    """A diluted poison: the candidate barely changes, but the served model calls the contributed "bowties" umbrellas."""
    served = evaluation()
    served["contributions test"] = accessory_slice({"bowtie": 0.75, "umbrella": 0.98}, {"bowtie": 260, "umbrella": 200})
    candidate = evaluation()
    candidate["contributions test"] = served["contributions test"]
    decision = gate.decide(candidate, served)
    assert not decision.promote
    assert decision.reasons == ["contributions test: served model agrees with label bowtie dropped from 0.950 to "
                                "0.750 (+0.200 worse; tolerance 0.030; 95% interval 0.694-0.799)"]
    # Honest contributions a little harder than the base test's drawings pass (0.93 of 186, interval reaches 0.92).
    served["contributions test"] = accessory_slice({"bowtie": 0.93, "umbrella": 0.98}, {"bowtie": 186, "umbrella": 200})
    candidate["contributions test"] = served["contributions test"]
    assert gate.decide(candidate, served).promote
