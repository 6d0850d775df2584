"""The text check's contract: a pure function of the text alone (R17)."""

import inspect

from moderation import checks


def test_it_decides_from_the_text_alone_never_from_the_stars():
    """R17: the check has no rating parameter, so publication cannot depend on stars."""
    assert list(inspect.signature(checks.check_text).parameters) == ["text"]


def test_it_publishes_a_clean_text_unchanged():
    result = checks.check_text("Fast delivery, friendly service.")
    assert (result.decision, result.text, result.findings) == (
        checks.PUBLISH,
        "Fast delivery, friendly service.",
        (),
    )
