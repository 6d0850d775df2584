# syntax=docker/dockerfile:1
# The platform's production image: web (gunicorn, the default command), Celery worker and beat.
# docker-compose.yml shows how the three are run and configured.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=ekomi.settings.production \
    VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles

# The processes run as this unprivileged user; the code stays owned by root (read-only to it).
RUN groupadd --gid 10001 ekomi \
    && useradd --uid 10001 --gid ekomi --no-create-home --home-dir /app \
       --shell /usr/sbin/nologin ekomi

# Dependencies first, so code changes reuse this layer. Every package is pinned with its hashes.
COPY requirements/base.txt /tmp/requirements/base.txt
RUN python -m venv /opt/venv \
    && pip install --require-hashes -r /tmp/requirements/base.txt \
    && rm -rf /tmp/requirements

WORKDIR /app
COPY . .

# Static files are collected into the image. Production settings refuse to load without a
# SECRET_KEY, DATABASE_URL and ALLOWED_HOSTS, so this RUN alone gets throwaway values (nothing
# connects to the database here). var/ is then recreated empty for the runtime user; media and
# the beat schedule live on volumes mounted below it, which inherit this ownership.
RUN SECRET_KEY=collectstatic-only-not-a-secret \
    DATABASE_URL=postgres://build@127.0.0.1:5432/build \
    ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput --verbosity 0 \
    && rm -rf "$VAR_DIR" \
    && mkdir -p "$VAR_DIR/media" "$VAR_DIR/beat" \
    && chown -R ekomi:ekomi "$VAR_DIR"

USER ekomi
EXPOSE 8000

# Three processes of two threads each; no access log, because rating-link tokens and eKomi
# interface passwords travel in URLs (AU-6); no control socket (HOME is read-only).
CMD ["gunicorn", "ekomi.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "2", \
     "--timeout", "30", "--worker-tmp-dir", "/dev/shm", "--no-control-socket"]
