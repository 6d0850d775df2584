from django.apps import AppConfig


class CompatConfig(AppConfig):
    """The drop-in eKomi API v3 interface (issue 9): ``/v3/<method>``."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "compat"
    verbose_name = "eKomi API v3 compatibility"
