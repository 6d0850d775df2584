"""The lock files' advisory check (scripts/advisories.py): dependencies pinned and reviewed by
hand (TESTPLAN §0), with PyPI's published advisories wherever PyPI answers.

PyPI lies outside this machine, so its answers are recorded documents here: what matters is
that no pin passes without an answer that covers it.
"""

from __future__ import annotations

import importlib.util
import sys

from django.conf import settings

ROOT = settings.BASE_DIR
_spec = importlib.util.spec_from_file_location("advisories", ROOT / "scripts/advisories.py")
advisories = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("advisories", advisories)  # dataclasses look their module up there
_spec.loader.exec_module(advisories)

LOCK = """\
#    pip-compile --generate-hashes
celery[redis]==5.7.0 \\
    --hash=sha256:abc
    # via -r requirements/base.in
Django==5.2.19 \\
    --hash=sha256:def
tomli==2.2.1 ; python_version < "3.12" \\
    --hash=sha256:123
# pip==25.0  (a comment, not a pin)
"""


def project(newest: str, *ids: str, withdrawn: tuple[str, ...] = ()) -> dict:
    vulns = [{"id": i, "withdrawn": None} for i in ids]
    vulns += [{"id": i, "withdrawn": "2026-01-01"} for i in withdrawn]
    return {"info": {"version": newest}, "vulnerabilities": vulns}


def fetcher(documents: dict[str, dict | None], *, error: OSError | None = None):
    """PyPI's answers by path; a path not listed is a 404 (as PyPI answers an unknown one)."""

    def fetch(path: str) -> dict | None:
        if error is not None:
            raise error
        return documents.get(path)

    return fetch


def test_it_reads_every_pin_of_a_hashed_lock_without_extras_markers_or_comments():
    """Issue 11 (the lock reviewed): every pinned package is checked, under its normalized name."""
    assert advisories.pins(LOCK) == {"celery": "5.7.0", "django": "5.2.19", "tomli": "2.2.1"}


def test_it_takes_the_exact_releases_advisories_when_pypi_answers_for_it():
    """Issue 11: the pinned release's own advisories decide; a withdrawn one does not count."""
    fetch = fetcher({"celery/5.7.0/json": project("5.8.0", "PYSEC-1", withdrawn=("GHSA-x",))})
    found = advisories.verdict("celery", "5.7.0", fetch, {})
    assert (found.status, found.detail) == ("advisory", "PYSEC-1")
    clean = advisories.verdict(
        "celery", "5.7.0", fetcher({"celery/5.7.0/json": project("5.8.0")}), {}
    )
    assert clean.status == "clean"


def test_it_settles_a_pin_that_is_the_newest_release_from_the_project_answer():
    """Issue 11: where the per-release path answers 404 (as on networks that pass only the project
    path), the newest release's advisories are the pin's."""
    assert (
        advisories.verdict("tomli", "2.2.1", fetcher({"tomli/json": project("2.2.1")}), {}).status
        == "clean"
    )
    bad = advisories.verdict(
        "tomli", "2.2.1", fetcher({"tomli/json": project("2.2.1", "GHSA-1")}), {}
    )
    assert (bad.status, bad.detail) == ("advisory", "GHSA-1")


def test_it_never_passes_a_pin_behind_the_newest_release_without_a_recorded_review():
    """Issue 11: the newest release having no advisory says nothing about an older one (it may
    be the fix): such a pin is unsettled unless reviewed.txt records that exact pin, with a
    reason."""
    fetch = fetcher({"django/json": project("6.1.3")})
    assert advisories.verdict("django", "5.2.19", fetch, {}).status == "unsettled"
    reviewed = advisories.reviewed_pins(
        "Django==5.2.19  # released with 6.1.3\ndjango==5.2.18\ncelery==5.7.0  #\n"
    )
    assert reviewed == {("django", "5.2.19"): "released with 6.1.3"}  # no reason, no review
    assert advisories.verdict("django", "5.2.19", fetch, reviewed).status == "reviewed"
    assert advisories.verdict("django", "5.2.18", fetch, reviewed).status == "unsettled"


def test_it_fails_rather_than_passes_when_pypi_cannot_be_reached():
    """Issue 11: a check that could not ask is not a pass (pip-audit without --strict prints
    "No known vulnerabilities found" in that case)."""
    verdicts = advisories.check(
        {"celery": "5.7.0", "django": "5.2.19"},
        fetcher({}, error=OSError("Name or service not known")),
        {},
    )
    assert {v.status for v in verdicts} == {"unsettled"}
    assert advisories.exit_status(verdicts) == 2
    assert advisories.exit_status([advisories.Verdict("a", "1", "clean")]) == 0
    assert (
        advisories.exit_status(
            [advisories.Verdict("a", "1", "reviewed"), advisories.Verdict("b", "1", "advisory")]
        )
        == 1
    )


def test_it_keeps_every_reviewed_pin_in_a_lock_file():
    """Issue 11: a review names the exact pin it checked; one left behind after a lock update
    is stale."""
    reviewed = advisories.reviewed_pins((ROOT / "requirements/reviewed.txt").read_text())
    locked = advisories.pins((ROOT / "requirements/dev.txt").read_text())
    assert reviewed and all(locked.get(name) == version for name, version in reviewed)
