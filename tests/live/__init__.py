"""L2 live-stack tests: a real Celery worker, Redis, Postgres and an SMTP sink."""
