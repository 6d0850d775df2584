from django.apps import AppConfig


class StatusConfig(AppConfig):
    name = "status"
    verbose_name = "Maintenance and availability"
    default_auto_field = "django.db.models.BigAutoField"
