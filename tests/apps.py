"""The project's own apps that hold models (``compat`` has none): each of their models needs an
admin (tests/platform/test_admin.py) and its personal fields in the record of processing
(tests/privacy/test_record.py)."""

OUR_APPS = (
    "companies",
    "invitations",
    "reviews",
    "moderation",
    "seals",
    "billing",
    "payments",
    "terms",
    "status",
    "privacy",
    "guidance",
)
