"""docker-compose.yml runs the production shape (DESIGN.md §5): Postgres, Redis, web behind an
nginx front, worker, beat and a mail catcher, wired by the environment the settings read (AU-7,
AU-6).

Docker is not needed: the file is parsed and its ``${NAME}`` interpolations are resolved the way
Compose resolves them when nothing is set, so a test sees what the containers would get.
"""

from __future__ import annotations

import functools
import re
import shlex
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import pytest
import yaml
from django.conf import settings

from ekomi.celery import app as celery_app

ROOT = settings.BASE_DIR
APP_SERVICES = ("web", "worker", "beat")
# `$$` is a literal dollar; `${NAME...}` and `$NAME` are interpolations.
INTERPOLATION = re.compile(
    r"\$\$|\$\{(?P<braced>[A-Za-z_]\w*)(?P<rest>[^}]*)\}|\$(?P<bare>[A-Za-z_]\w*)"
)


@functools.cache
def _settings_source() -> str:
    return "\n".join(path.read_text() for path in sorted((ROOT / "ekomi/settings").glob("*.py")))


def _settings_read(name: str) -> bool:
    """The settings read ``name`` through django-environ (env.str("NAME"), env.db("NAME") …)."""
    return (
        re.search(rf"\benv(?:\.\w+)?\(\s*[\"']{re.escape(name)}[\"']", _settings_source())
        is not None
    )


def _resolve(value):
    """What Compose substitutes with an empty environment: the default, or '' if there is none."""
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        rest = match.group("rest") or ""
        if rest.startswith((":-", "-")):
            return rest.split("-", 1)[1]
        return ""

    return INTERPOLATION.sub(substitute, value)


def _strings(node):
    """Every string value in the parsed file: Compose interpolates values, never comments."""
    if isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


def _interpolated_names(compose: dict) -> set[str]:
    return {
        match.group("braced") or match.group("bare")
        for text in _strings(compose)
        for match in INTERPOLATION.finditer(text)
        if match.group(0) != "$$"
    }


def _command(service: dict) -> str:
    command = service["command"]
    return command if isinstance(command, str) else shlex.join(command)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def _environment(service: dict) -> dict[str, str]:
    environment = service["environment"]
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {key: str(value) for key, value in environment.items()}


def test_it_defines_the_seven_services_without_the_obsolete_version_key(compose):
    assert set(compose["services"]) == {
        "postgres", "redis", "web", "front", "worker", "beat", "mailcatcher",
    }  # fmt: skip
    assert "version" not in compose


@pytest.mark.parametrize("name", APP_SERVICES)
def test_it_points_the_app_at_postgres_redis_and_the_mail_catcher(services, name):
    env = {key: _resolve(value) for key, value in _environment(services[name]).items()}
    postgres = _environment(services["postgres"])
    database = urlsplit(env["DATABASE_URL"])
    assert database.scheme in {"postgres", "postgresql"}
    assert (database.hostname, database.port or 5432) == ("postgres", 5432)
    assert database.username == postgres["POSTGRES_USER"]
    assert database.password == postgres["POSTGRES_PASSWORD"]
    assert database.path.lstrip("/") == postgres["POSTGRES_DB"]
    redis = urlsplit(env["REDIS_URL"])
    assert (redis.scheme, redis.hostname, redis.port) == ("redis", "redis", 6379)
    email = urlsplit(env["EMAIL_URL"])
    assert (email.scheme, email.hostname, email.port) == ("smtp", "mailcatcher", 1025)
    assert env["DJANGO_SETTINGS_MODULE"] == "ekomi.settings.production"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_it_refuses_to_start_without_a_secret_key(services, name):
    """AU-7: no default secret; Compose itself stops with a message when SECRET_KEY is unset."""
    assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]+\}", _environment(services[name])["SECRET_KEY"])


@pytest.mark.parametrize("name", APP_SERVICES)
def test_it_serves_plain_http_locally_until_told_otherwise(services, name):
    env = {key: _resolve(value) for key, value in _environment(services[name]).items()}
    assert env["SECURE_SSL_REDIRECT"] == "false"
    assert "localhost" in env["ALLOWED_HOSTS"].split(",")
    assert urlsplit(env["SITE_URL"]).hostname in env["ALLOWED_HOSTS"].split(",")


@pytest.mark.parametrize("name", APP_SERVICES)
def test_it_starts_the_app_after_postgres_and_redis_are_healthy(services, name):
    depends_on = services[name]["depends_on"]
    assert depends_on["postgres"]["condition"] == "service_healthy"
    assert depends_on["redis"]["condition"] == "service_healthy"


def test_it_checks_postgres_and_redis_health(services):
    assert "pg_isready" in shlex.join(services["postgres"]["healthcheck"]["test"])
    assert "redis-cli ping" in shlex.join(services["redis"]["healthcheck"]["test"])
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])


def test_it_migrates_then_runs_gunicorn_on_port_8000(services):
    command = _command(services["web"])
    assert command.index("manage.py migrate") < command.index("gunicorn ekomi.wsgi")
    assert "--bind 0.0.0.0:8000" in command
    # Reachable inside the compose network only: the public comes through the front.
    assert "ports" not in services["web"] and services["web"]["expose"] == ["8000"]


def test_it_healthchecks_web_on_healthz(services):
    test = services["web"]["healthcheck"]["test"]
    assert "http://127.0.0.1:8000/healthz" in shlex.join(test)
    # The check is a Python one-liner: it must survive YAML folding as valid Python.
    assert test[:3] == ["CMD", "python", "-c"]
    compile(test[3], "healthcheck", "exec")
    # Workers and beat wait for it, because web runs the migrations.
    for name in ("worker", "beat"):
        assert services[name]["depends_on"]["web"]["condition"] == "service_healthy"


def test_it_runs_the_worker_on_the_queue_tasks_are_sent_to(services):
    """A worker on another queue than the tasks' default would leave every job unsent."""
    command = shlex.split(_command(services["worker"]))
    assert command[:4] == ["celery", "-A", "ekomi", "worker"]
    assert "--concurrency=4" in command
    queues = next(arg.split("=", 1)[1] for arg in command if arg.startswith("--queues="))
    assert queues.split(",") == ["default"]
    assert celery_app.conf.task_default_queue in queues.split(",")


def test_it_keeps_the_beat_schedule_on_a_volume(compose, services):
    command = shlex.split(_command(services["beat"]))
    assert command[:4] == ["celery", "-A", "ekomi", "beat"]
    schedule = next(arg.split("=", 1)[1] for arg in command if arg.startswith("--schedule="))
    mounts = dict(volume.split(":", 1)[::-1] for volume in services["beat"]["volumes"])
    volume = mounts[str(PurePosixPath(schedule).parent)]
    assert volume in compose["volumes"]


def test_it_keeps_uploads_on_a_media_volume_shared_by_web_and_worker(compose, services):
    dockerfile = (ROOT / "Dockerfile").read_text()
    var_dir = re.search(r"\bVAR_DIR=(\S+)", dockerfile).group(1)
    media_root = f"{var_dir}/media"  # settings: MEDIA_ROOT defaults to VAR_DIR / "media"
    for name in ("web", "worker"):
        mounts = dict(volume.split(":", 1)[::-1] for volume in services[name]["volumes"])
        assert mounts[media_root] in compose["volumes"]


def test_it_catches_mail_on_smtp_1025_with_a_ui_on_8025(services):
    mailcatcher = services["mailcatcher"]
    assert "mailpit" in mailcatcher["image"]
    published = {str(port).rsplit(":", 1)[-1] for port in mailcatcher["ports"]}
    assert {"1025", "8025"} <= published


def test_it_only_interpolates_names_the_settings_read(compose):
    names = _interpolated_names(compose)
    assert {"SECRET_KEY", "ALLOWED_HOSTS", "SITE_URL"} <= names
    assert sorted(name for name in names if not _settings_read(name)) == []


@pytest.mark.parametrize("name", APP_SERVICES)
def test_it_sets_only_environment_the_settings_read(services, name):
    """A misspelt variable would be silently ignored; Django itself reads the settings module."""
    unread = [
        key
        for key in _environment(services[name])
        if key != "DJANGO_SETTINGS_MODULE" and not _settings_read(key)
    ]
    assert unread == []


def test_it_keeps_request_urls_out_of_gunicorn_logs(services):
    """AU-6: rating-link tokens and eKomi interface passwords travel in URLs."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "access-log" not in _command(services["web"])
    assert "access-log" not in dockerfile


def test_it_builds_the_image_from_hashed_pins_as_a_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.MULTILINE)
    assert "--require-hashes -r /tmp/requirements/base.txt" in dockerfile
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}
    assert re.search(r"^EXPOSE 8000$", dockerfile, re.MULTILINE)


def test_it_keeps_local_state_and_secrets_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", ".venv", "var", ".git", "**/__pycache__"} <= ignored


# --- The front ------------------------------------------------------------------------------------

FRONT_CONF = ROOT / "deploy/nginx/front.conf"
PUBLIC_CACHE = ROOT / "deploy/nginx/public-cache.conf"


def _mounts(service: dict) -> dict[str, str]:
    """Container path -> host path of the service's read-only bind mounts."""
    pairs = [volume.rsplit(":", 1)[0].split(":", 1) for volume in service["volumes"]]
    return {container: host for host, container in pairs}


def test_it_publishes_the_nginx_front_on_port_8000_before_gunicorn(services):
    """LO-2: the public comes through the cache the benchmark measures (its "via nginx" figures):
    the front's port 8080 is published on 127.0.0.1:8000, it mounts the two files of
    deploy/nginx/ where front.conf includes them, and it starts once web is healthy."""
    front = services["front"]
    assert re.fullmatch(r"nginx:\d+\.\d+-alpine", front["image"])  # a pinned release line
    assert front["ports"] == ["127.0.0.1:8000:8080"]
    mounts = _mounts(front)
    assert (ROOT / mounts["/etc/nginx/conf.d/default.conf"]).resolve() == FRONT_CONF
    assert (ROOT / mounts["/etc/nginx/ekomi/public-cache.conf"]).resolve() == PUBLIC_CACHE
    conf = FRONT_CONF.read_text()
    assert "include /etc/nginx/ekomi/public-cache.conf;" in conf
    assert "listen 8080;" in conf and "server web:8000;" in conf
    assert front["depends_on"] == {"web": {"condition": "service_healthy"}}


def test_it_believes_x_forwarded_for_from_the_front_alone_ab_2(compose, services):
    """AB-2: rate limits key on the client address; Django believes X-Forwarded-For only from the
    front's fixed address, which lies in the compose network's fixed subnet."""
    import ipaddress

    address = services["front"]["networks"]["default"]["ipv4_address"]
    subnet = compose["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(address) in ipaddress.ip_network(subnet)
    for name in APP_SERVICES:
        assert _resolve(_environment(services[name])["TRUSTED_PROXIES"]) == address
    conf = FRONT_CONF.read_text()
    assert "real_ip_header X-Forwarded-For;" in conf
    assert (
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in PUBLIC_CACHE.read_text()
    )


def test_it_keeps_request_urls_out_of_the_front_log_au_6():
    """AU-6: the front logs with a format of its own, which names no part of the URL (the
    image's default format logs the request line)."""
    conf = FRONT_CONF.read_text()
    log_format = re.search(r"log_format front (.*?);", conf, re.DOTALL).group(1)
    assert "$status" in log_format
    assert not re.search(
        r"\$(request\b|request_uri|uri|args|arg_|query_string|http_referer)", log_format
    )
    assert re.findall(r"^\s*access_log (.*);", conf, re.MULTILINE) == ["/dev/stdout front"]


def test_it_gives_nginx_a_front_config_it_accepts(tmp_path):
    """LO-2: the front's configuration as the nginx image loads it (conf.d inside the http block),
    checked by a real nginx (make test installs it); only the container's paths and the
    upstream's name are swapped for ones that exist here."""
    import subprocess

    conf = (
        FRONT_CONF.read_text()
        .replace("/etc/nginx/ekomi/public-cache.conf", str(PUBLIC_CACHE))
        .replace("/var/cache/nginx/", f"{tmp_path}/cache/")
        .replace("server web:8000;", "server 127.0.0.1:1;")
    )
    (tmp_path / "front.conf").write_text(conf)
    (tmp_path / "cache").mkdir()  # the image has /var/cache/nginx
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{\n include {tmp_path}/front.conf;\n}}\n"
    )
    result = subprocess.run(
        ["nginx", "-t", "-p", f"{tmp_path}/", "-c", str(tmp_path / "nginx.conf"),
         "-e", str(tmp_path / "error.log")],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
