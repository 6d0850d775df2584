from django.apps import AppConfig


class TermsConfig(AppConfig):
    name = "terms"
    verbose_name = "Offers, terms and sanctions"
    default_auto_field = "django.db.models.BigAutoField"
