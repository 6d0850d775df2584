"""The session store: Django's database sessions, read by one plain statement (issue 12, bench
figure "rating submissions"; AU-4 review sessions, AU-5 a dead session stays dead)."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DjangoStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ekomi.sessions import SessionStore

pytestmark = pytest.mark.django_db


def _saved(**data) -> str:
    store = SessionStore()
    store.update(data)
    store.save()
    return store.session_key


def test_it_is_the_configured_store():
    assert settings.SESSION_ENGINE == "ekomi.sessions"


def test_it_reads_what_django_reads_in_one_statement_au_4():
    """AU-4: a review session comes back whole, read by one statement of the session's data."""
    key = _saved(review_session={"id": 7, "until": 1e10, "products": [[3, "Mug"]]})
    with CaptureQueriesContext(connection) as queries:
        loaded = SessionStore(key).load()
    assert (
        loaded
        == DjangoStore(key).load()
        == {"review_session": {"id": 7, "until": 1e10, "products": [[3, "Mug"]]}}
    )
    assert len(queries) == 1
    assert queries[0]["sql"].startswith('SELECT "session_data" FROM "django_session"')


def test_it_finds_nothing_for_an_unknown_expired_or_invalid_key_au_5():
    """AU-5: an expired or deleted session is empty and its key is dropped, so a new one is
    issued; a key too short to be ours is not even looked up."""
    expired = _saved(user="someone")
    Session.objects.filter(session_key=expired).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )
    deleted = _saved(user="someone")
    SessionStore(deleted).delete()
    for key in (expired, deleted, "x" * 32):
        store = SessionStore(key)
        assert store.load() == {}
        assert store.session_key is None
    with CaptureQueriesContext(connection) as queries:
        assert SessionStore("short").load() == {}
    assert len(queries) == 0


def test_it_keeps_writes_cycling_and_logout_as_django_does_au_5():
    """AU-5: a changed session is saved, cycling the key moves the data, flushing kills it."""
    key = _saved(step=1)
    store = SessionStore(key)
    store["step"] = 2
    store.save()
    assert SessionStore(key).load() == {"step": 2}
    store.cycle_key()
    assert store.session_key != key
    assert SessionStore(key).load() == {}
    assert SessionStore(store.session_key).load() == {"step": 2}
    new_key = store.session_key
    store.flush()
    assert SessionStore(new_key).load() == {}
