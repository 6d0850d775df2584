from django.apps import AppConfig


class GuidanceConfig(AppConfig):
    """General tips in the backend (R48, 001 §2.10) and who dismissed which."""

    name = "guidance"
    default_auto_field = "django.db.models.BigAutoField"
