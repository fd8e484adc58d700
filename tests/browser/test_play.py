"""The /play game, played whole: real Quick Draw drawings replayed as pointer moves win their
rounds before the countdown ends, a scribble loses at time-out, the summary shows every drawing,
and donating stores them once. Also a keyboard-only game and a game on a phone with a finger.

Rounds are shortened with ``?seconds=`` so a lost round costs seconds, not 20. Screenshots of
each state (desktop and phone, light and dark) go to a temporary folder, or to
``$SCREENSHOT_DIR`` when set (relative to the repository, as for test_screenshots.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect


pytestmark = [pytest.mark.slow, pytest.mark.e2e]


WIN_SECONDS = 12  # Long enough for a busy two-core machine to replay a drawing with the mouse.
ROUND_RESULT_TIMEOUT_MS = 30_000
WIN_MARGIN = 0.9  # The drawings the games replay score at least this (the win rule needs 0.8).
MODEL_READY_TIMEOUT_MS = 30_000
# A zigzag no accessory looks like much: it must not be named confidently as the prompt.
SCRIBBLE = [[[20, 230, 30, 220, 40, 210, 50, 200], [30, 40, 80, 90, 140, 150, 200, 215]]]
BATCH_REASON = (
    "CONTRACTS §4: batch POST /api/drawings with Idempotency-Key (stream B) is not in this branch yet; "
    "the page's request was checked against a stand-in, the database rows are not"
)


def shoot(page: Page, folder: Path, name: str) -> None:
    """Screenshot the page in light and dark colour schemes."""
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.screenshot(path=str(folder / f"play-{name}-{scheme}.png"), animations="disabled")
    page.emulate_media(color_scheme="light")


def open_play(page: Page, seconds: int) -> None:
    """Open /play with rounds of ``seconds`` and wait for the model."""
    page.goto(f"/play?seconds={seconds}")
    expect(page.get_by_test_id("model-status")).to_have_attribute("data-state", "ready", timeout=MODEL_READY_TIMEOUT_MS)


def predicted(page: Page, strokes: list) -> dict[str, float]:
    """The page's own probabilities for strokes."""
    ranked = page.evaluate("strokes => window.__doodles.predictStrokes(strokes)", strokes)
    return {item["label"]: item["probability"] for item in ranked}


def winning_drawings(page: Page, categories: list[str], load: Callable[[str], list]) -> dict[str, list]:
    """For each category, a real Quick Draw drawing the model names clearly (the game's rule needs 0.8).

    A margin over 0.8, since strokes replayed on the canvas are rendered a little unlike
    Quick Draw's own coordinates; a category no drawing reaches it with cannot be won at all.
    """
    chosen = {}
    for category in categories:
        for strokes in load(category):
            probabilities = predicted(page, strokes)
            if max(probabilities, key=probabilities.get) == category and probabilities[category] >= WIN_MARGIN:
                chosen[category] = strokes
                break
        else:
            pytest.fail(f"no {category} drawing in the fixture scores {WIN_MARGIN}: the game cannot be won for it")
    return chosen


def tap(pen: Any, locator: Any) -> None:
    """Tap an element with the pen's finger: the same DevTools session as the drawing, one finger."""
    box = locator.bounding_box()
    pen.cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}]})
    pen.cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def stats(page: Page) -> dict[str, Any]:
    """The server's drawing counts."""
    response = page.request.get("/api/drawings/stats")
    assert response.ok, response.text()
    return response.json()


def test_a_whole_game_is_won_lost_summarised_and_donated(
    page, new_pen, quickdraw_drawings, web_model, screenshot_dir, page_watch
):
    """Five rounds won with real drawings before time runs out, one scribble lost at time-out, one donation."""
    open_play(page, WIN_SECONDS)
    categories = web_model["categories"]
    known = page.get_by_test_id("known-categories")
    for category in categories:
        expect(known).to_contain_text(category)
    drawings = winning_drawings(page, categories, quickdraw_drawings)
    scribble_scores = predicted(page, SCRIBBLE)
    shoot(page, screenshot_dir, "desktop-start")

    page.get_by_test_id("play-start").click()
    prompts = []
    lost_round = None
    for number in range(1, len(categories) + 1):
        prompt = page.get_by_test_id("play-prompt")
        expect(prompt).to_have_attribute("data-round", str(number))
        label = prompt.get_attribute("data-label")
        prompts.append(label)
        expect(page.get_by_test_id("canvas")).to_be_focused()
        result = page.get_by_test_id("play-round-result")
        pen = new_pen(page)
        # The first round whose prompt the scribble is far from is the one to lose.
        if lost_round is None and scribble_scores[label] < 0.5:
            lost_round = number
            pen.draw(SCRIBBLE)
            timer = page.get_by_test_id("play-timer")
            expect(timer).not_to_have_attribute("data-seconds-left", "0")
            if number == 1:
                shoot(page, screenshot_dir, "desktop-drawing")
            expect(result).to_have_attribute("data-round", str(number), timeout=ROUND_RESULT_TIMEOUT_MS)
            expect(result).to_have_attribute("data-recognized", "false")
            expect(timer).to_have_attribute("data-seconds-left", "0")
        else:
            pen.draw(drawings[label])
            expect(result).to_have_attribute("data-round", str(number), timeout=ROUND_RESULT_TIMEOUT_MS)
            expect(result).to_have_attribute("data-recognized", "true")
            # Won before the countdown ended, with the prompt named on screen.
            assert int(page.get_by_test_id("play-timer").get_attribute("data-seconds-left")) > 0
            expect(page.get_by_test_id("play-guess")).to_have_attribute("data-label", label)
            expect(page.get_by_test_id("play-guess")).to_contain_text("Oh, I know")
            if number == 2:
                shoot(page, screenshot_dir, "desktop-won")
        # The canvas is locked once the round is over: more strokes change nothing.
        revision = page.get_by_test_id("canvas").get_attribute("data-revision")
        pen.draw([[[10, 100], [10, 100]]])
        expect(page.get_by_test_id("canvas")).to_have_attribute("data-revision", revision)
        if number == lost_round:
            shoot(page, screenshot_dir, "desktop-lost")
        page.get_by_test_id("play-next").click()

    assert sorted(prompts) == sorted(categories)
    assert lost_round is not None, f"the scribble scored at least 0.5 for every category: {scribble_scores}"
    summary = page.get_by_test_id("play-summary").locator(":scope > li")
    expect(summary).to_have_count(len(categories))
    items = summary.evaluate_all(
        "items => items.map(i => [i.dataset.label, i.dataset.recognized, i.dataset.guess])"
    )
    assert [label for label, _, _ in items] == prompts
    for number, (label, recognized, guess) in enumerate(items, start=1):
        assert recognized == ("false" if number == lost_round else "true")
        if recognized == "true":
            assert guess == label
    # The lost round shows how others drew it, from real Quick Draw drawings.
    expect(summary.nth(lost_round - 1).get_by_test_id("play-examples").locator("canvas")).to_have_count(3)
    expect(summary.nth(0)).to_contain_text("%")
    shoot(page, screenshot_dir, "desktop-summary")
    page_watch.assert_clean()

    before = stats(page)
    page.get_by_test_id("play-donate").click()
    donated = page.get_by_test_id("play-donated")
    expect(donated).to_have_attribute("data-count", str(len(categories)))
    after = stats(page)
    assert after["total"] == before["total"] + len(categories)
    for label in categories:
        assert after["by_label"][label] == before["by_label"][label] + 1
    shoot(page, screenshot_dir, "desktop-donated")
    # A second click sends the same Idempotency-Key: the server stores nothing more.
    page.get_by_test_id("play-donate").click()
    expect(donated).to_have_attribute("data-state", "success")
    expect(donated).to_have_attribute("data-count", str(len(categories)))
    assert stats(page)["total"] == after["total"]
    # Play again starts a fresh game at round 1.
    page.get_by_test_id("play-again").click()
    expect(page.get_by_test_id("play-prompt")).to_have_attribute("data-round", "1")


def test_a_game_played_with_the_keyboard_only(page, web_model):
    """Enter starts and goes on, focus lands on the canvas each round, Escape quits; speech is opt-in and remembered."""
    # Record what the page would say instead of saying it.
    page.add_init_script("window.__spoken = []; if (window.speechSynthesis) speechSynthesis.speak = (utterance) => window.__spoken.push(utterance.text);")
    open_play(page, 1)
    speech = page.get_by_test_id("play-speech")
    expect(speech).not_to_be_checked()
    speech.focus()
    page.keyboard.press("Space")
    expect(speech).to_be_checked()
    open_play(page, 1)
    expect(speech).to_be_checked()
    rounds = len(web_model["categories"])
    prompt = page.get_by_test_id("play-prompt")
    expect(prompt).to_have_attribute("aria-live", "assertive")
    page.locator("body").focus()
    page.keyboard.press("Enter")
    for number in range(1, rounds + 1):
        expect(prompt).to_have_attribute("data-round", str(number))
        expect(page.get_by_test_id("canvas")).to_be_focused()
        result = page.get_by_test_id("play-round-result")
        expect(result).to_have_attribute("data-round", str(number), timeout=ROUND_RESULT_TIMEOUT_MS)
        expect(result).to_have_attribute("data-recognized", "false")
        expect(page.get_by_test_id("play-next")).to_be_focused()
        page.keyboard.press("Enter")
    summary = page.get_by_test_id("play-summary").locator(":scope > li")
    expect(summary).to_have_count(rounds)
    assert summary.evaluate_all("items => items.map(i => i.dataset.guess)") == [""] * rounds
    spoken = page.evaluate("window.__spoken")
    assert sum(text.startswith("Draw ") for text in spoken) == rounds, spoken
    # Nothing was drawn, so there is nothing to donate, and the page says so.
    page.get_by_test_id("play-donate").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("play-donated")).to_have_attribute("data-state", "error")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("play-start")).to_be_visible()
    # Space starts too, and Escape quits in the middle of a round.
    page.locator("body").focus()
    page.keyboard.press("Space")
    expect(prompt).to_have_attribute("data-round", "1")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("play-start")).to_be_visible()
    expect(page.get_by_test_id("play-start")).to_be_focused()


def test_a_game_on_a_phone_with_a_finger(phone_page, base_url, new_pen, quickdraw_drawings, web_model, screenshot_dir):
    """Touch drawing wins rounds; prompt, timer and canvas stay on screen and the page does not scroll."""
    page = phone_page
    page.goto(f"{base_url}/play?seconds={WIN_SECONDS}")
    expect(page.get_by_test_id("model-status")).to_have_attribute("data-state", "ready", timeout=MODEL_READY_TIMEOUT_MS)
    categories = web_model["categories"]
    drawings = winning_drawings(page, categories, quickdraw_drawings)
    shoot(page, screenshot_dir, "phone-start")
    page.get_by_test_id("play-start").tap()
    height = page.viewport_size["height"]
    pen = None
    for number in range(1, len(categories) + 1):
        prompt = page.get_by_test_id("play-prompt")
        expect(prompt).to_have_attribute("data-round", str(number))
        for test_id in ("play-prompt", "play-timer", "canvas", "play-guess"):
            box = page.get_by_test_id(test_id).bounding_box()
            assert box and box["y"] >= 0 and box["y"] + box["height"] <= height, (test_id, box)
        scroll_before = page.evaluate("window.scrollY")
        # One pen (one DevTools session) for the whole game: touches from several sessions
        # would look like several fingers, and a two-finger tap is no click.
        pen = pen or new_pen(page, "touch")
        result = page.get_by_test_id("play-round-result")
        # A person stops drawing once the model has it.
        for stroke in drawings[prompt.get_attribute("data-label")]:
            pen.draw([stroke])
            if result.get_attribute("data-round") == str(number):
                break
        expect(result).to_have_attribute("data-round", str(number), timeout=ROUND_RESULT_TIMEOUT_MS)
        expect(result).to_have_attribute("data-recognized", "true")
        assert page.evaluate("window.scrollY") == scroll_before
        if number == 1:
            shoot(page, screenshot_dir, "phone-won")
        tap(pen, page.get_by_test_id("play-next"))
    expect(page.get_by_test_id("play-summary").locator(":scope > li")).to_have_count(len(categories))
    shoot(page, screenshot_dir, "phone-summary")


def test_a_new_model_version_waits_for_the_round_to_end(page, web_model):
    """A version made current during a round is used from the round's end, never within it."""
    page.goto("/play?seconds=4&poll=1")
    status = page.get_by_test_id("model-status")
    expect(status).to_have_attribute("data-state", "ready", timeout=MODEL_READY_TIMEOUT_MS)
    served = page.evaluate("fetch(document.getElementById('main').dataset.metadataUrl).then((response) => response.json())")
    current = {"metadata": {**served, "version": "newer0000000"}}
    page.route(
        lambda url: urlsplit(url).path in ("/static/model/metadata.json", "/api/model"),
        lambda route: route.fulfill(status=200, json=current["metadata"]),
    )
    # The start screen has nothing drawn: the page switches straight away.
    expect(status).to_have_attribute("data-version", "newer0000000", timeout=10_000)
    page.get_by_test_id("play-start").click()
    current["metadata"] = {**served, "version": "newest000000"}
    page.wait_for_timeout(2_000)
    expect(page.get_by_test_id("play-round-result")).to_be_hidden()
    expect(status).to_have_attribute("data-version", "newer0000000")
    expect(page.get_by_test_id("play-round-result")).to_have_attribute("data-round", "1", timeout=ROUND_RESULT_TIMEOUT_MS)
    expect(status).to_have_attribute("data-version", "newest000000", timeout=10_000)


def test_the_model_chooser_remembers_the_set(page, live_server):
    """With more than one model set the page offers them, downloads only the chosen one, and remembers it."""
    sets = page.request.get("/api/models").json()["sets"]
    if len(sets) < 2:
        pytest.skip("the server serves one model set: the chooser stays hidden")
    open_play(page, 20)
    chooser = page.get_by_test_id("model-select")
    expect(chooser).to_be_visible()
    other = sets[1]["name"]
    with page.expect_request(lambda request: f"set={other}" in request.url):
        chooser.select_option(other)
    expect(page.get_by_test_id("model-status")).to_have_attribute("data-state", "ready", timeout=MODEL_READY_TIMEOUT_MS)
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    open_play(page, 20)
    expect(chooser).to_have_value(other)
    assert any(f"set={other}" in url for url in requested)
