"""Matrix rows for the settings page: shop settings, notifications, newsletter and requests
that need platform staff (R4, R8, R41)."""

from __future__ import annotations

import datetime

from companies.models import Role, SettingsRequest
from companies.services_settings import notification_preferences_set, settings_request_create
from tests import factories

SHOP_SETTINGS = {
    "invitation_delay_days": "3",
    "delay_basis": "order",
    "reminders_enabled": "on",
    "reminder_count": "1",
    "reminder_interval_days": "7",
    "default_locale": "de",
}

ROWS = {
    # B's own settings page and forms: they work on B's session shop and B's own user only.
    "settings": ("get", "/backend/settings/", {}, 200),
    "settings-shop": ("post", "/backend/settings/shop/", SHOP_SETTINGS, 302),
    "settings-notifications": (
        "post",
        "/backend/settings/notifications/",
        {"new_review": "on"},
        302,
    ),
    "settings-newsletter": ("post", "/backend/settings/newsletter/", {"subscribed": "on"}, 302),
    "settings-request-pause": (
        "post",
        "/backend/settings/requests/pause/",
        {"pause_from": "2999-01-01", "pause_until": "2999-01-10", "reason": "Stocktaking"},
        302,
    ),
    "settings-request-selection-group": (
        "post",
        "/backend/settings/requests/selection-group/",
        {"criteria": "Only customers of the online shop, not the stores."},
        302,
    ),
    "settings-request-withdraw": (
        "post",
        "/backend/settings/requests/{settings_request}/withdraw/",
        {},
        404,
    ),
}


def seed(company, shop) -> dict:
    manager = factories.MembershipFactory(company=company, role=Role.MANAGER).user
    notification_preferences_set(company=company, user=manager, new_review=True)
    row = settings_request_create(
        shop=shop,
        kind=SettingsRequest.Kind.PAUSE,
        requested_by=manager,
        pause_from=datetime.date(2999, 1, 1),
        pause_until=datetime.date(2999, 1, 2),
        reason="ACME-A stocktaking",
    )
    return {"settings_request": row.pk}
