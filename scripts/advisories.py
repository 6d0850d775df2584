"""Checks the lock files against the security advisories PyPI publishes (OSV data).

    python scripts/advisories.py requirements/base.txt requirements/dev.txt

For each pin it asks PyPI's JSON API for the advisories of that exact release
(``/pypi/<name>/<version>/json``, what pip-audit asks). Where that answer is not available (some
networks pass only the project endpoint), the project endpoint still settles a pin that is the
newest release: its ``vulnerabilities`` are those of the newest release. A pin behind the newest
release cannot be settled that way; it passes only when ``requirements/reviewed.txt`` records
a review of that exact pin (``name==version  # how it was checked``), and fails otherwise.

Exit status: 0 every pin settled and none has an advisory; 1 an advisory; 2 a pin left unsettled
(not reviewed, or PyPI not reachable). Never a pass without an answer for every pin.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

PYPI = "https://pypi.org/pypi"
REVIEWED = Path(__file__).resolve().parent.parent / "requirements" / "reviewed.txt"
# name==version at the start of a line; extras dropped; hashes, markers and comments ignored.
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s\\;#]+)", re.MULTILINE)

Fetch = Callable[[str], dict | None]  # a JSON API path -> its document, None for 404


@dataclass(frozen=True)
class Verdict:
    name: str
    version: str
    status: str  # "clean", "advisory", "reviewed", "unsettled"
    detail: str = ""


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str) -> dict[str, str]:
    return {normalized(name): version for name, version in _PIN.findall(text)}


def reviewed_pins(text: str) -> dict[tuple[str, str], str]:
    """``(name, version) -> reason`` from reviewed.txt; a line without a reason does not count."""
    found = {}
    for line in text.splitlines():
        match = _PIN.match(line.strip())
        reason = line.split("#", 1)[1].strip() if "#" in line else ""
        if match and reason:
            found[normalized(match.group(1)), match.group(2)] = reason
    return found


def _advisories(document: dict) -> list[str]:
    return [
        advisory.get("id", "?")
        for advisory in document.get("vulnerabilities") or []
        if not advisory.get("withdrawn")
    ]


def verdict(name: str, version: str, fetch: Fetch, reviewed: dict) -> Verdict:
    try:
        release = fetch(f"{name}/{version}/json")
        if release is not None:
            found = _advisories(release)
            if found:
                return Verdict(name, version, "advisory", ", ".join(found))
            return Verdict(name, version, "clean", "advisories of this release: none")
        project = fetch(f"{name}/json")
    except OSError as exc:
        return Verdict(name, version, "unsettled", f"PyPI not reachable ({exc})")
    if project is None:
        return Verdict(name, version, "unsettled", "not on PyPI")
    newest = project["info"]["version"]
    found = _advisories(project)
    if version == newest:
        if found:
            return Verdict(name, version, "advisory", ", ".join(found))
        return Verdict(name, version, "clean", "the newest release, no advisories")
    reason = reviewed.get((name, version))
    if reason:
        return Verdict(name, version, "reviewed", f"behind {newest}; {reason}")
    return Verdict(
        name, version, "unsettled", f"behind {newest}; not reviewed in requirements/reviewed.txt"
    )


def fetch_pypi(path: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"{PYPI}/{path}", timeout=30) as response:  # noqa: S310 (a fixed https URL)  # nosec B310
            return json.load(response)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def check(pinned: dict[str, str], fetch: Fetch, reviewed: dict) -> list[Verdict]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(verdict, n, v, fetch, reviewed) for n, v in sorted(pinned.items())]
        return [future.result() for future in futures]


def exit_status(verdicts: list[Verdict]) -> int:
    statuses = {v.status for v in verdicts}
    if "advisory" in statuses:
        return 1
    return 2 if "unsettled" in statuses else 0


def main(paths: list[str]) -> int:
    pinned: dict[str, str] = {}
    for path in paths:
        pinned.update(pins(Path(path).read_text()))
    reviewed = reviewed_pins(REVIEWED.read_text()) if REVIEWED.exists() else {}
    verdicts = check(pinned, fetch_pypi, reviewed)
    for v in verdicts:
        if v.status != "clean":
            print(f"{v.status:9}  {v.name}=={v.version}: {v.detail}")
    counts = {s: sum(v.status == s for v in verdicts) for s in ("clean", "reviewed", "unsettled")}
    advisories = sum(v.status == "advisory" for v in verdicts)
    print(
        f"{len(verdicts)} pins: {counts['clean']} without advisories, {counts['reviewed']} "
        f"reviewed by hand, {advisories} with advisories, {counts['unsettled']} unsettled"
    )
    return exit_status(verdicts)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["requirements/base.txt", "requirements/dev.txt"]))
