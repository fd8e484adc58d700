"""The rough edges a new user met on / and /contribute, each checked as that user meets it:
plain words for "none of these" and marks too small to judge, articles, the jump from a wrong
guess to the contribute page, the label/guess warning, contrast (light and dark), the skip
link, layouts at 1280x900 and on a phone, and a new model version picked up between drawings."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

# A tiny tick: far under the min_extent the tests give the decision rule.
TINY_MARK = [[[100, 104], [100, 103]]]


def is_metadata_url(url: str) -> bool:
    """The page's model metadata: /static/model/metadata.json, or /api/model(?set=...) on a server with model sets."""
    return urlsplit(url).path in ("/static/model/metadata.json", "/api/model")


def served_metadata(page: Page) -> dict[str, Any]:
    """The metadata the page loaded its model from (files_url included where the server sends one)."""
    return page.evaluate("fetch(document.getElementById('main').dataset.metadataUrl).then((response) => response.json())")


def with_decision(page: Page, decision: dict[str, Any]) -> None:
    """Serve the page its model's metadata with another decision block (CONTRACTS §2)."""

    def answer(route):
        metadata = route.fetch().json()
        metadata["decision"] = decision
        route.fulfill(status=200, json=metadata)

    page.route(is_metadata_url, answer)


def contrast(page: Page, selector: str, background_selector: str | None = None) -> float:
    """WCAG contrast ratio between an element's text colour and the first opaque background behind it."""
    return page.evaluate(
        """([selector, backgroundSelector]) => {
          const parse = (value) => value.match(/[\\d.]+/g).map(Number);
          const channel = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
          const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
          const element = document.querySelector(selector);
          let holder = backgroundSelector ? document.querySelector(backgroundSelector) : element;
          let background = parse(getComputedStyle(holder).backgroundColor);
          while ((background.length === 4 && background[3] === 0) && holder.parentElement) {
            holder = holder.parentElement;
            background = parse(getComputedStyle(holder).backgroundColor);
          }
          const [light, dark] = [luminance(parse(getComputedStyle(element).color)), luminance(background)].sort((a, b) => b - a);
          return (light + 0.05) / (dark + 0.05);
        }""",
        [selector, background_selector],
    )


def test_none_of_these_and_keep_drawing(page, open_page, final_guess, quickdraw_drawings, web_model):
    """A drawing the rule rejects says so plainly, with suggestions from the metadata; a tiny mark says "Keep drawing…"."""
    # reject_below above 1 makes every drawing "none of these"; min_extent 40 CSS pixels makes a tick too small.
    with_decision(page, {"other_label": None, "reject_below": 1.01, "unsure_below": 1.01, "min_extent": 40})
    pen = open_page(page, "/")
    known = page.get_by_test_id("known-categories")
    for category in web_model["categories"]:
        expect(known).to_contain_text(category)
    prediction = page.get_by_test_id("prediction")

    pen.draw(quickdraw_drawings(web_model["categories"][0])[0])
    final_guess(page)
    expect(prediction).to_have_attribute("data-state", "other")
    expect(prediction).to_have_attribute("data-label", "")
    first = web_model["categories"][0]
    expect(prediction).to_contain_text("doesn’t look like any accessory I know")
    expect(prediction).to_contain_text(re.compile(rf"Try an? {first}, .*, …\s*$"))

    page.get_by_role("button", name="Clear").click()
    pen.draw(TINY_MARK)
    final_guess(page)
    expect(prediction).to_have_attribute("data-state", "too-small")
    expect(prediction).to_have_attribute("data-label", "")
    expect(prediction).to_contain_text("Keep drawing…")

    # The contribute page does not send a mark too small to judge.
    pen = open_page(page, "/contribute")
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.get_by_label("What will you draw?").select_option(first)
    pen.draw(TINY_MARK)
    page.get_by_role("button", name="Send drawing").click()
    expect(page.get_by_test_id("status")).to_contain_text("too small")
    assert posts == []


def test_a_named_guess_has_its_article_and_the_status_says_ready(page, open_page, final_guess, quickdraw_drawings, web_model):
    """"I think it’s an umbrella", never "a umbrella"; the status says "Ready", the backend is in its tooltip."""
    pen = open_page(page, "/")
    status = page.get_by_test_id("model-status")
    expect(status).to_have_text("Ready")
    expect(status).to_have_attribute("title", re.compile("WASM|WEBGL|CPU"))
    for category in web_model["categories"]:
        clear = page.get_by_role("button", name="Clear")
        if clear.is_enabled():
            clear.click()
        pen.draw(quickdraw_drawings(category)[0])
        guess = final_guess(page)
        if guess["state"] != "confident":
            continue
        article = "an" if guess["label"][0] in "aeiou" and not re.match(r"u[^aeiou][aeiou]", guess["label"]) else "a"
        if re.search(r"[^s]s$", guess["label"]):
            article = ""
        expect(page.locator("#prediction-label")).to_have_text(f"{article} {guess['label']}".strip())


def test_wrong_guess_takes_the_drawing_to_the_contribute_page(page, open_page, final_guess, quickdraw_drawings, web_model):
    """"Wrong? Tell us what it was" keeps the drawing; the page asks for its label and warns on a disagreement."""
    categories = web_model["categories"]
    pen = open_page(page, "/")
    pen.draw(quickdraw_drawings(categories[0])[0])
    guess = final_guess(page)
    drawn = page.evaluate("window.__doodles.getStrokes()")
    page.get_by_role("link", name="Wrong? Tell us what it was").click()
    expect(page).to_have_url(re.compile("/contribute"))
    expect(page.get_by_test_id("model-status")).to_have_attribute("data-state", "ready", timeout=30_000)
    kept = page.evaluate("window.__doodles.getStrokes()")
    assert len(kept) == len(drawn) and kept
    expect(page.get_by_label("What will you draw?")).to_be_focused()
    expect(page.get_by_test_id("status")).to_contain_text("choose what it really was")
    final_guess(page)

    other = next(label for label in categories if label != guess["label"])
    warning = page.get_by_test_id("label-warning")
    page.get_by_label("What will you draw?").select_option(other)
    expect(warning).to_be_visible()
    expect(warning).to_contain_text(f"The model sees")
    page.get_by_label("What will you draw?").select_option(guess["label"])
    expect(warning).to_be_hidden()


def test_choose_first_goes_away_once_chosen(page, open_page, quickdraw_drawings, web_model):
    """"Choose what you drew first." is answered by choosing, so it leaves the screen."""
    label = web_model["categories"][0]
    pen = open_page(page, "/contribute")
    pen.draw(quickdraw_drawings(label)[0])
    page.get_by_role("button", name="Send drawing").click()
    status = page.get_by_test_id("status")
    expect(status).to_have_text("Choose what you drew first.")
    page.get_by_label("What will you draw?").select_option(label)
    expect(status).to_have_text("")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_contrast_skip_link_and_layouts(browser, browser_context_args, base_url, scheme, web_model):
    """Text contrast >= 4.5:1 in both schemes; the skip link leaves the logo visible; Send above the fold at 1280x900."""
    context = browser.new_context(**{**browser_context_args, "viewport": {"width": 1280, "height": 900}}, color_scheme=scheme)
    page = context.new_page()
    try:
        page.goto(f"{base_url}/contribute")
        expect(page.get_by_test_id("model-status")).to_have_attribute("data-state", "ready", timeout=30_000)
        for selector, background in [
            ("#canvas-placeholder", ".canvas-frame"),
            ("body", None),
            (".lede", None),
            (".site-nav a[aria-current]", None),
            (".card-title", ".card"),
            (".prediction-kicker", ".prediction"),
        ]:
            assert contrast(page, selector, background) >= 4.5, (scheme, selector)
        send = page.get_by_role("button", name="Send drawing").bounding_box()
        assert send["y"] + send["height"] <= 900, send

        page.keyboard.press("Tab")
        skip = page.get_by_role("link", name="Skip to content")
        expect(skip).to_be_focused()
        skip_box = skip.bounding_box()
        logo_box = page.locator(".brand-logo").bounding_box()
        overlap = not (
            skip_box["x"] + skip_box["width"] <= logo_box["x"]
            or logo_box["x"] + logo_box["width"] <= skip_box["x"]
            or skip_box["y"] + skip_box["height"] <= logo_box["y"]
            or logo_box["y"] + logo_box["height"] <= skip_box["y"]
        )
        assert not overlap, (skip_box, logo_box)
    finally:
        context.close()


def test_contribute_guess_in_sight_on_a_phone(phone_page, base_url, new_pen, quickdraw_drawings, web_model):
    """On a phone the live guess and the canvas share the screen while the finger draws."""
    page = phone_page
    page.goto(f"{base_url}/contribute")
    expect(page.get_by_test_id("model-status")).to_have_attribute("data-state", "ready", timeout=30_000)
    pen = new_pen(page, "touch")
    pen.draw(quickdraw_drawings(web_model["categories"][1])[0])
    height = page.viewport_size["height"]
    for test_id in ("prediction", "canvas"):
        box = page.get_by_test_id(test_id).bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, (test_id, box)
    expect(page.get_by_test_id("prediction")).not_to_have_attribute("data-state", "empty")


def test_a_new_model_version_is_used_between_drawings_never_during_one(page, open_page, web_model, quickdraw_drawings):
    """The page polls /api/model; a new version waits while a stroke is drawn or the canvas holds a drawing."""
    requests = []

    def answer(route):
        requests.append(route.request.headers.get("if-none-match"))
        route.fulfill(status=200, json=newer, headers={"ETag": '"newer0000000"'})

    pen = open_page(page, "/?poll=1")
    status = page.get_by_test_id("model-status")
    expect(status).to_have_attribute("data-version", web_model["version"])
    newer = {**served_metadata(page), "version": "newer0000000"}
    # The pen goes down and stays down while the new version appears.
    strokes = quickdraw_drawings(web_model["categories"][0])[0]
    pen.press(strokes[0][0][0], strokes[0][1][0])
    pen.trace(strokes[0][0][1:], strokes[0][1][1:])
    page.route(is_metadata_url, answer)
    page.wait_for_timeout(2_500)
    assert requests, "the page did not poll /api/model"
    expect(status).to_have_attribute("data-version", web_model["version"])
    pen.lift()
    page.wait_for_timeout(1_500)
    # A drawing is on the canvas: still the old model.
    expect(status).to_have_attribute("data-version", web_model["version"])
    page.get_by_role("button", name="Clear").click()
    expect(status).to_have_attribute("data-version", "newer0000000", timeout=10_000)
    assert page.evaluate("window.__doodles.version") == "newer0000000"
