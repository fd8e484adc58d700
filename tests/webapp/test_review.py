"""Review: who may review (the security table), the queue's order and paging, and recorded decisions."""

from __future__ import annotations

import logging

import pytest
from test_config import environment  # noqa: F401  (the production-style environment, shared)
from webapp_support import BACKENDS, CROSS, SQUARE, ZIGZAG, contribute

from training.categories import DEFAULT_CATEGORIES
from webapp import auth, create_app
from webapp.store import get_store

TOKEN = "review-token-0123456789abcdef"
ALICE = "alice-token-0123456789abcdef"
BOB = "bob-token-0123456789abcdefgh"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return request.param


@pytest.fixture
def reviewed_app(make_app):
    """The app with one admin token set."""
    return make_app(ADMIN_TOKEN=TOKEN)


@pytest.fixture
def reviewed_client(reviewed_app):
    """A client of the app with review on."""
    return reviewed_app.test_client()


def decide(client, ids, status, headers=BEARER):
    """POST /api/review."""
    return client.post("/api/review", json={"ids": ids, "status": status}, headers=headers)


# Every way of presenting (or not presenting) a token that must be refused with 401:
# (case, headers, query string, cookie (name, value), words of the error message).
REFUSED = [
    ("no token", {}, "", None, "Authorization: Bearer"),
    ("wrong token", {"Authorization": "Bearer not-the-token-at-all-000"}, "", None, "not valid"),
    ("right token, another scheme", {"Authorization": f"Basic {TOKEN}"}, "", None, "Authorization: Bearer"),
    ("empty bearer", {"Authorization": "Bearer "}, "", None, "Authorization: Bearer"),
    ("token in the query string", {}, f"?token={TOKEN}", None, "never in the URL"),
    ("access_token in the query string", {}, f"?access_token={TOKEN}", None, "never in the URL"),
    ("query string even beside the header", BEARER, f"?token={TOKEN}", None, "never in the URL"),
    ("token in a cookie", {}, "", ("token", TOKEN), "cookie"),
    ("admin_token cookie beside the header", BEARER, "", ("admin_token", TOKEN), "cookie"),
    ("the token in a cookie of any name", BEARER, "", ("session", TOKEN), "cookie"),
]


@pytest.mark.parametrize(("case", "headers", "query", "cookie", "message"), REFUSED, ids=[case[0] for case in REFUSED])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_refused_with_401(reviewed_app, case, headers, query, cookie, message, method):
    """Anything but the right token in the Authorization header is a 401 JSON error with WWW-Authenticate."""
    client = reviewed_app.test_client()
    drawing_id = contribute(client)
    if cookie is not None:
        client.set_cookie(*cookie)
    if method == "GET":
        response = client.get(f"/api/review{query}", headers=headers)
    else:
        response = client.post(f"/api/review{query}", json={"ids": [drawing_id], "status": "approved"}, headers=headers)
    assert response.status_code == 401
    assert message in response.get_json()["error"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.headers["Cache-Control"] == "no-store"
    # Nothing was approved: the drawing is still pending.
    if cookie is not None:
        client.delete_cookie(cookie[0])
    queue = client.get("/api/review", headers=BEARER).get_json()["drawings"]
    assert [item["id"] for item in queue] == [drawing_id]


def test_other_cookies_do_not_matter(reviewed_client):
    """Cookies that hold no admin token (another app's on the same host) do not stand in the moderator's way."""
    reviewed_client.set_cookie("token", "another-apps-session-value")
    assert reviewed_client.get("/api/review", headers=BEARER).status_code == 200


@pytest.mark.parametrize("settings", [{}, {"ADMIN_TOKEN": ""}, {"ADMIN_TOKEN": None, "ADMIN_TOKENS": {}}])
def test_review_is_off_without_a_token(make_app, settings):
    """With no admin token configured, review answers 404 saying so, whatever is sent."""
    client = make_app(**settings).test_client()
    for response in (
        client.get("/api/review", headers=BEARER),
        client.post("/api/review", json={"ids": [1], "status": "approved"}, headers=BEARER),
    ):
        assert response.status_code == 404
        assert "review is disabled" in response.get_json()["error"]


def test_repeated_failures_are_rate_limited(make_app):
    """Past the failure limit a client gets 429 with Retry-After, even with the right token; others are not affected."""
    app = make_app(ADMIN_TOKEN=TOKEN, ADMIN_AUTH_FAILURE_LIMIT=3, ADMIN_AUTH_FAILURE_WINDOW=60)
    client = app.test_client()
    wrong = {"Authorization": "Bearer guess-0000000000000000"}
    assert [client.get("/api/review", headers=wrong).status_code for _ in range(3)] == [401, 401, 401]
    limited = client.get("/api/review", headers=wrong)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # The right token does not help once limited: guessing cannot go on behind the 429s.
    assert client.get("/api/review", headers=BEARER).status_code == 429
    other = client.get("/api/review", headers=BEARER, environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert other.status_code == 200
    # Successes do not count: a moderator who never fails is never limited.
    for _ in range(10):
        assert client.get("/api/review", headers=BEARER, environ_base={"REMOTE_ADDR": "192.0.2.10"}).status_code == 200


def test_failure_limiter_blocks_for_the_window(app):
    """Past the limit a client is blocked until the window ends; other clients are not."""
    now = [0.0]
    limiter = auth.FailureLimiter(get_store(app), limit=2, window=60, clock=lambda: now[0])
    assert limiter.fail("a") == 0 and limiter.fail("a") == 0
    assert limiter.wait("a") == 0
    now[0] = 10.0
    assert limiter.fail("a") == 50
    assert limiter.wait("a") == 50 and limiter.wait("b") == 0
    now[0] = 60.0
    assert limiter.wait("a") == 0


def test_tokens_never_reach_the_logs(make_app, caplog):
    """Neither the right token nor a wrong one appears in any log record, refusals included."""
    caplog.set_level(logging.DEBUG)
    client = make_app(ADMIN_TOKEN=TOKEN, ADMIN_TOKENS={"alice": ALICE}).test_client()
    wrong = "wrong-token-9876543210fedcba"
    drawing_id = contribute(client)
    client.get("/api/review", headers=BEARER)
    client.get("/api/review", headers={"Authorization": f"Bearer {wrong}"})
    client.get(f"/api/review?token={wrong}")
    client.set_cookie("token", wrong)
    client.get("/api/review")
    client.delete_cookie("token")
    decide(client, [drawing_id], "approved", headers={"Authorization": f"Bearer {ALICE}"})
    client.get(f"/api/drawings/{drawing_id}.png", headers={"Authorization": f"Bearer {wrong}"})
    assert "refused" in caplog.text  # Refusals are logged, just never with the token.
    for secret in (TOKEN, ALICE, wrong):
        assert secret not in caplog.text


def test_named_tokens_record_the_reviewer(make_app):
    """With several named tokens, each decision is recorded with the name of the token used, and when."""
    app = make_app(ADMIN_TOKENS={"alice": ALICE, "bob": BOB})
    client = app.test_client()
    first, second = contribute(client), contribute(client, "purse")
    response = decide(client, [first], "approved", headers={"Authorization": f"Bearer {ALICE}"})
    assert response.status_code == 200
    assert response.get_json() == {"updated": 1, "ids": [first], "status": "approved", "reviewer": "alice"}
    assert decide(client, [second], "rejected", headers={"Authorization": f"bearer {BOB}"}).get_json()["reviewer"] == "bob"
    history = {drawing_id: get_store(app).reviews(drawing_id) for drawing_id in (first, second)}
    assert [(entry["status"], entry["reviewer"]) for entry in history[first]] == [("approved", "alice")]
    assert [(entry["status"], entry["reviewer"]) for entry in history[second]] == [("rejected", "bob")]
    assert all(entry["at"] for entries in history.values() for entry in entries)


@pytest.mark.parametrize(
    "settings",
    [
        {"ADMIN_TOKENS": ["not", "an", "object"]},
        {"ADMIN_TOKENS": {"alice": 12345}},
        {"ADMIN_TOKENS": {"alice": ALICE, "bob": ALICE}},
        {"ADMIN_TOKEN": TOKEN, "ADMIN_TOKENS": {"admin": ALICE}},
    ],
)
def test_malformed_token_settings_stop_the_app(make_app, settings):
    """A token setting that cannot be read, or that would mix two reviewers up, refuses to start."""
    with pytest.raises(ValueError):
        make_app(**settings)


def test_tokens_from_the_environment(environment):
    """FLASK_ADMIN_TOKEN (even all digits, which JSON would turn into a number) and FLASK_ADMIN_TOKENS configure review."""
    digits = "12345678901234567890123"
    environment.setenv("FLASK_SECRET_KEY", "environment-test-secret-key")
    environment.setenv("FLASK_ADMIN_TOKEN", digits)
    environment.setenv("FLASK_ADMIN_TOKENS", f'{{"alice": "{ALICE}"}}')
    client = create_app().test_client()
    assert client.get("/api/review", headers={"Authorization": f"Bearer {digits}"}).status_code == 200
    assert client.get("/api/review", headers={"Authorization": f"Bearer {ALICE}"}).status_code == 200
    environment.delenv("FLASK_ADMIN_TOKEN")
    environment.delenv("FLASK_ADMIN_TOKENS")
    assert create_app().test_client().get("/api/review", headers=BEARER).status_code == 404


def test_short_tokens_are_refused_outside_tests(make_app):
    """A production app refuses a token short enough to guess."""
    with pytest.raises(ValueError, match="at least"):
        make_app(TESTING=False, ADMIN_TOKEN="short")


def test_queue_lists_disagreements_first(reviewed_client):
    """Pending drawings the model disagrees with come before those it agrees with, each group oldest first."""
    ids = [contribute(reviewed_client, label) for label in DEFAULT_CATEGORIES]
    body = reviewed_client.get("/api/review", headers=BEARER).get_json()
    assert body["next"] is None and body["pending"] == len(ids)
    drawings = body["drawings"]
    assert sorted(item["id"] for item in drawings) == ids
    agrees = [item["guess"] == item["label"] for item in drawings]
    assert agrees == sorted(agrees), "a drawing the model agrees with came before a disagreement"
    disagreements = [item["id"] for item in drawings if item["guess"] != item["label"]]
    assert disagreements == sorted(disagreements)
    item = drawings[0]
    assert set(item) >= {"id", "label", "guess", "guess_probability", "status", "created", "image_url", "image"}
    assert item["status"] == "pending"
    assert item["image"].startswith("data:image/png;base64,")
    assert item["image_url"] == f"/api/drawings/{item['id']}.png"


def test_queue_pages(reviewed_client):
    """limit and offset page through the queue; next is the following offset, then null."""
    ids = {contribute(reviewed_client, "sock", strokes) for strokes in (SQUARE, CROSS, ZIGZAG, SQUARE, CROSS)}
    seen, offset, pages = [], 0, 0
    while offset is not None:
        body = reviewed_client.get(f"/api/review?limit=2&offset={offset}", headers=BEARER).get_json()
        seen += [item["id"] for item in body["drawings"]]
        offset = body["next"]
        pages += 1
    assert pages == 3 and sorted(seen) == sorted(ids)


def test_approved_and_rejected_leave_the_queue(reviewed_app, reviewed_client):
    """A decision changes many drawings at once; decided drawings leave the queue; rejected ones stay stored."""
    ids = [contribute(reviewed_client) for _ in range(4)]
    assert decide(reviewed_client, ids[:2], "approved").get_json()["updated"] == 2
    assert decide(reviewed_client, [ids[2], ids[2]], "rejected").get_json() == {
        "updated": 1, "ids": [ids[2]], "status": "rejected", "reviewer": "admin"
    }
    body = reviewed_client.get("/api/review", headers=BEARER).get_json()
    assert [item["id"] for item in body["drawings"]] == [ids[3]] and body["pending"] == 1
    statuses = {drawing_id: get_store(reviewed_app).get_drawing(drawing_id)["status"] for drawing_id in ids}
    assert statuses == {ids[0]: "approved", ids[1]: "approved", ids[2]: "rejected", ids[3]: "pending"}
    # A moderator may change their mind.
    assert decide(reviewed_client, [ids[2]], "approved").get_json()["updated"] == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"ids": [1], "status": "pending"}, "status"),
        ({"ids": [1], "status": "APPROVED"}, "status"),
        ({"ids": [1]}, "status"),
        ({"ids": [], "status": "approved"}, "non-empty"),
        ({"ids": "1", "status": "approved"}, "non-empty"),
        ({"ids": [0], "status": "approved"}, "positive"),
        ({"ids": [-1], "status": "approved"}, "positive"),
        ({"ids": [1.5], "status": "approved"}, "positive"),
        ({"ids": [True], "status": "approved"}, "positive"),
        ({"ids": ["1"], "status": "approved"}, "positive"),
        ({"ids": [2**64], "status": "approved"}, "positive"),
        ({"ids": [999999], "status": "approved"}, "no drawing with id 999999"),
        ({"ids": [1, 999999], "status": "approved"}, "nothing was changed"),
        ({"ids": list(range(1, 300)), "status": "approved"}, "at most"),
        ([1, 2], "JSON object"),
    ],
)
def test_bad_decisions_are_400(reviewed_client, body, message):
    """Bad ids or status answer 400 JSON and change nothing."""
    drawing_id = contribute(reviewed_client)
    assert drawing_id == 1
    response = reviewed_client.post("/api/review", json=body, headers=BEARER)
    assert response.status_code == 400
    assert message in response.get_json()["error"]
    queue = reviewed_client.get("/api/review", headers=BEARER).get_json()["drawings"]
    assert [item["status"] for item in queue] == ["pending"]


def test_bad_json_is_400(reviewed_client):
    """A body that is not JSON is a 400 too."""
    response = reviewed_client.post("/api/review", data="{", content_type="application/json", headers=BEARER)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=abc", "limit=-1", "limit=100000", "limit=101", "offset=-3", "offset=1.5", f"offset={10**30}", f"offset={10**19 - 1}"]
)
def test_bad_paging_is_400(reviewed_client, query):
    """Paging arguments must be whole numbers in range."""
    response = reviewed_client.get(f"/api/review?{query}", headers=BEARER)
    assert response.status_code == 400
    assert response.get_json()["error"]


def test_drawing_png_needs_a_token_until_approved(reviewed_client):
    """A pending or rejected PNG is 404 to the public (like a missing one) and served with a token; approved is public."""
    pending, rejected, approved = (contribute(reviewed_client) for _ in range(3))
    decide(reviewed_client, [rejected], "rejected")
    decide(reviewed_client, [approved], "approved")
    missing = reviewed_client.get("/api/drawings/999.png")
    for drawing_id in (pending, rejected):
        public = reviewed_client.get(f"/api/drawings/{drawing_id}.png")
        assert public.status_code == 404 and public.get_json() == missing.get_json()
        moderator = reviewed_client.get(f"/api/drawings/{drawing_id}.png", headers=BEARER)
        assert moderator.status_code == 200 and moderator.mimetype == "image/png"
        assert moderator.data.startswith(b"\x89PNG")
        # A token anywhere but the header is not accepted.
        assert reviewed_client.get(f"/api/drawings/{drawing_id}.png?token={TOKEN}").status_code == 404
    public = reviewed_client.get(f"/api/drawings/{approved}.png")
    assert public.status_code == 200 and public.data.startswith(b"\x89PNG")
    # A stray cookie of another app on the host does not break the public gallery.
    reviewed_client.set_cookie("token", "some-other-app")
    assert reviewed_client.get(f"/api/drawings/{approved}.png").status_code == 200
    assert reviewed_client.get(f"/api/drawings/{pending}.png").status_code == 404
    reviewed_client.delete_cookie("token")
    wrong = reviewed_client.get(f"/api/drawings/{pending}.png", headers={"Authorization": "Bearer nope-0000000000000000"})
    assert wrong.status_code == 401


def test_review_page_is_served_without_secrets(reviewed_client):
    """The review page is a static shell: it renders without a token and carries none."""
    response = reviewed_client.get("/review")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-review-url="/api/review"' in page
    assert TOKEN not in page
    assert "<script>" not in page and "style=" not in page


@pytest.mark.parametrize("drawing_id", ["99999999999999999999", str(2**63), "0", "00", "1" + "0" * 5000, "-1", "1e3"])
def test_an_id_that_cannot_exist_is_404(reviewed_client, drawing_id):
    """An id no database integer can hold (or no drawing can have) is the JSON 404 of a missing drawing, never a 500."""
    for headers in ({}, BEARER):
        response = reviewed_client.get(f"/api/drawings/{drawing_id}.png", headers=headers)
        assert response.status_code == 404, response.get_data(as_text=True)[:200]
        assert response.is_json and response.get_json()["error"]
