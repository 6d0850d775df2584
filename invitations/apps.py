from django.apps import AppConfig


class InvitationsConfig(AppConfig):
    name = "invitations"
    default_auto_field = "django.db.models.BigAutoField"
