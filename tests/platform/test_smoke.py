"""Smoke test: the platform boots on its embedded defaults, as a newcomer's ``make run`` does.

Everything runs in subprocesses with none of the configuration a developer might have set, and
with ``VAR_DIR`` in a temporary directory: SQLite, the file-based broker and the mail folder
all live there, so the project's own ``var/`` is never touched (DESIGN.md §5).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.smoke

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
BOOT_TIMEOUT = 40  # seconds from `honcho start` until web, worker and beat are all up
# The configuration of DESIGN.md §5 plus what a test run or a developer's shell may carry.
CONFIG_VARS = (
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_URL",
    "TEST_DATABASE_URL",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SITE_URL",
    "DEBUG",
    "STATIC_ROOT",
    "MEDIA_ROOT",
    "VAR_DIR",
)
# kombu's filesystem transport keeps its exchange tables in ``control_folder``; the settings put
# it under VAR_DIR, so nothing may appear in the project root.
STRAY_CONTROL_DIR = ROOT / "control"
WORKER_READY = re.compile(r"^\S+ worker\.1\s+\|.*\bready\.", re.MULTILINE)
BEAT_STARTED = re.compile(r"^\S+ beat\.1\s+\|.*beat: Starting", re.MULTILINE)
CHILD_STARTED = re.compile(r"^\S+ system\s+\| \S+ started \(pid=(\d+)\)", re.MULTILINE)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _embedded_env(var_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env.update(
        VAR_DIR=str(var_dir),
        DJANGO_SETTINGS_MODULE="ekomi.settings.dev",
        PORT=str(port),
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",  # Procfile.dev says `celery`
        PYTHONUNBUFFERED="1",  # log lines reach honcho as they happen
        DJANGO_READ_DOT_ENV_FILE="false",  # a developer's .env must not reconfigure the boot
    )
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (our own server)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _wait_for(check, *, deadline: float, honcho: subprocess.Popen, log: Path, what: str):
    """Poll ``check()`` until it returns something truthy; fail early if honcho gave up."""
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        if honcho.poll() is not None:
            pytest.fail(f"honcho exited ({honcho.returncode}) before {what}:\n{log.read_text()}")
        time.sleep(0.25)
    pytest.fail(f"no {what} within {BOOT_TIMEOUT} s:\n{log.read_text()}")


def _healthy(port: int):
    try:
        status, body = _get(f"http://127.0.0.1:{port}/healthz")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None  # runserver is not listening yet
    return json.loads(body) if status == 200 else None


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _stop(honcho: subprocess.Popen, log: Path) -> None:
    """SIGTERM honcho's group (honcho forwards it), then SIGKILL whatever is left.

    Honcho starts each Procfile process in a session of its own, so those groups are named
    from the pids honcho logged.
    """
    children = [int(pid) for pid in CHILD_STARTED.findall(log.read_text())]
    _signal_group(honcho.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        honcho.wait(timeout=15)
    for pgid in (honcho.pid, *children):
        _signal_group(pgid, signal.SIGKILL)
    honcho.wait(timeout=5)


def _project_db_mtime() -> float | None:
    database = ROOT / "var" / "db.sqlite3"
    return database.stat().st_mtime if database.exists() else None


def test_it_boots_and_serves_the_demo_on_the_embedded_defaults(tmp_path):
    """R25, R26: `make run` with nothing configured serves a gold certificate page, dated."""
    var_dir = tmp_path / "var"
    port = _free_port()
    env = _embedded_env(var_dir, port)
    project_db_before = _project_db_mtime()
    assert not STRAY_CONTROL_DIR.exists()

    _manage(env, "migrate", "--noinput")
    demo = json.loads(_manage(env, "seed_demo", "--json"))
    _manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    gold_shops = [shop for shop in demo["shops"] if shop["tier"] == "gold"]
    assert len(gold_shops) == 1, demo
    gold = gold_shops[0]

    log = tmp_path / "honcho.log"
    with log.open("w") as output:
        honcho = subprocess.Popen(
            # --env /dev/null: honcho would otherwise load a developer's .env as well.
            [str(VENV_BIN / "honcho"), "--env", "/dev/null", "--procfile", "Procfile.dev", "start"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + BOOT_TIMEOUT
        wait = dict(deadline=deadline, honcho=honcho, log=log)
        health = _wait_for(lambda: _healthy(port), what="200 from /healthz", **wait)
        assert health["checks"]["database"] == "ok"

        path = urlsplit(gold["certificate_url"]).path
        status, page = _get(f"http://127.0.0.1:{port}{path}")
        assert status == 200
        assert gold["name"] in page
        assert "Gold" in page
        assert re.search(r"Status as of \d{2}/\d{2}/\d{4}", page)

        _wait_for(lambda: WORKER_READY.search(log.read_text()), what="worker ready", **wait)
        _wait_for(lambda: BEAT_STARTED.search(log.read_text()), what="beat start", **wait)
        # Honcho stops every process as soon as one exits: still running means all three are.
        assert honcho.poll() is None, log.read_text()
    finally:
        _stop(honcho, log)

    assert not STRAY_CONTROL_DIR.exists(), "the broker wrote outside VAR_DIR"

    # Web, worker and beat all kept their state under the temporary VAR_DIR.
    assert (var_dir / "db.sqlite3").is_file()
    assert list(var_dir.glob("celerybeat-schedule*"))
    assert _project_db_mtime() == project_db_before


# Run by ``manage.py shell`` on the embedded SQLite database: a demo customer's rating link,
# opened, filled in and sent as a browser does; then the screening a worker would run.
_RATE_ON_SQLITE = """
import json
from django.test import Client
from invitations.models import Invitation, OrderItem
from invitations.tokens import token_for
from reviews.models import Review
from reviews.services_submission import review_screen_submission

invitation = Invitation.objects.unscoped().filter(status="sent").order_by("pk").first()
client = Client(HTTP_HOST="localhost")
opened = client.get(f"/r/{token_for(invitation.token_nonce)}/").status_code
form = client.get("/r/").status_code
item = OrderItem.objects.unscoped().filter(order_id=invitation.order_id).first()
data = {"merchant_rating": "5", "merchant_comment": "Friendly and fast."}
if item is not None:
    data[f"product_{item.product_id}_rating"] = "4"
posted = client.post("/r/", data)
stored = Review.objects.unscoped().filter(invitation=invitation)
pending = sorted(stored.values_list("kind", "status"))
review_screen_submission(invitation_id=invitation.pk)
invitation.refresh_from_db()
print(json.dumps({
    "opened": opened, "form": form, "posted": posted.status_code,
    "location": posted.headers.get("Location"), "products": int(bool(item)),
    "pending": pending, "screened": sorted(stored.values_list("kind", "status")),
    "invitation": invitation.status,
}))
"""


def test_it_takes_a_rating_on_the_embedded_sqlite_database_r13_r17(tmp_path):
    """R13, R17: on the embedded defaults (SQLite, no Redis) a rating link's form POST stores
    the merchant review and the product's, pending, and marks the link rated; the screening
    then publishes them."""
    env = _embedded_env(tmp_path / "var", _free_port())
    _manage(env, "migrate", "--noinput")
    _manage(env, "seed_demo", "--json")
    result = json.loads(_manage(env, "shell", "-c", _RATE_ON_SQLITE).strip().splitlines()[-1])
    assert (result["opened"], result["form"], result["posted"]) == (303, 200, 303), result
    assert result["location"] == "/r/thanks/"
    kinds = ["merchant"] + ["product"] * result["products"]
    assert result["pending"] == [[kind, "pending"] for kind in kinds]
    assert result["screened"] == [[kind, "published"] for kind in kinds]
    assert result["invitation"] == "rated"
