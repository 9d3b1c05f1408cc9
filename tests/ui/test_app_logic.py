"""The UI's own logic (app.js's pure functions), run in the same Chromium the browser tests use,
on a blank page: no server."""

from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
from playwright.sync_api import Browser, Page


@pytest.fixture(scope="module")
def app(browser: Browser) -> Iterator[Page]:
    page = browser.new_page()
    page.set_content("<!doctype html><body></body>")
    page.add_script_tag(content=resources.files("sluice").joinpath("ui", "app.js").read_text())
    yield page
    page.close()


def plan(app: Page, sizes: list[int], watched: list[str], limit: int) -> Any:
    files = [{"name": f"f{i}.bin", "size": size} for i, size in enumerate(sizes)]
    return app.evaluate(
        "([files, watched, limit]) => planUpload(files, 'b/in', watched, limit)",
        [files, watched, limit],
    )


def test_files_over_the_limit_are_refused_naming_each(app: Page) -> None:
    result = plan(app, [10, 3 << 20, 5 << 20], ["copy"], 1 << 20)
    assert result["action"] == "refuse"
    assert result["message"].splitlines() == [
        "f1.bin is 3.0 MiB; the largest file Sluice takes is 1.0 MiB (SLUICE_MAX_BODY)."
        " Nothing was uploaded.",
        "f2.bin is 5.0 MiB; the largest file Sluice takes is 1.0 MiB (SLUICE_MAX_BODY)."
        " Nothing was uploaded.",
    ]


def test_a_file_at_the_limit_is_taken(app: Page) -> None:
    assert plan(app, [1 << 20], ["copy"], 1 << 20) == {"action": "upload", "message": ""}


def test_an_unwatched_folder_asks_first(app: Page) -> None:
    result = plan(app, [10], [], 1 << 20)
    assert result["action"] == "confirm"
    assert "No service watches b/in" in result["message"]


def test_layout_puts_each_service_one_column_past_what_feeds_it(app: Page) -> None:
    graph = {
        "nodes": [{"name": n} for n in ["a", "b", "c", "d"]],
        "depth": {"a": 0, "b": 1, "c": 1, "d": 2},
    }
    at = app.evaluate("graph => layout(graph)", graph)
    assert at["a"]["x"] < at["b"]["x"] == at["c"]["x"] < at["d"]["x"]
    assert at["b"]["y"] != at["c"]["y"]


@pytest.mark.parametrize(
    ("answer", "text"),
    [
        ("SEVMTE8gU0xVSUNF", "HELLO SLUICE"),  # one output file, base64
        ("plain output of the script\n", "plain output of the script\n"),  # no output file
        ("abcd", None),  # base64 of bytes that are not text: offered as a download
    ],
)
def test_run_answers_are_decoded_as_the_api_sends_them(
    app: Page, answer: str, text: str | None
) -> None:
    decoded = app.evaluate("a => decodeAnswer(a).text", answer)
    assert decoded == text


def test_sizes_read_as_people_write_them(app: Page) -> None:
    assert app.evaluate("[bytes(0), bytes(1023), bytes(1536), bytes(5 * 2 ** 30)]") == [
        "0 B",
        "1023 B",
        "1.5 KiB",
        "5.0 GiB",
    ]


def test_job_counts_follow_each_event(app: Page) -> None:
    totals = app.evaluate(
        """() => {
        let t = countsOf({states: {Succeeded: 5, Failed: 1}, dead: 1});
        t = applyEvent(t, null, {status: "Pending", dead: false});           // a new job
        t = applyEvent(t, {status: "Pending", dead: false}, {status: "Running", dead: false});
        t = applyEvent(t, {status: "Running", dead: false}, {status: "Succeeded", dead: false});
        // a retried dead letter
        t = applyEvent(t, {status: "Failed", dead: true}, {status: "Pending", dead: false});
        t = applyEvent(t, {status: "Pending", dead: false}, {status: "Pending", dead: false});
        return t;
    }"""
    )
    assert totals == {"Pending": 1, "Running": 0, "Succeeded": 6, "Failed": 0, "dead": 0}
