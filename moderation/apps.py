from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "moderation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_save

        from moderation import integrity, receivers
        from reviews.models import CompanyComment, DialogueMessage, Review
        from reviews.services import review_screening

        review_screening.connect(integrity.review_screen, dispatch_uid="moderation.screen")
        post_save.connect(receivers.review_saved, sender=Review, dispatch_uid="moderation.review")
        post_save.connect(
            receivers.comment_saved, sender=CompanyComment, dispatch_uid="moderation.comment"
        )
        post_save.connect(
            receivers.message_saved, sender=DialogueMessage, dispatch_uid="moderation.message"
        )
        user_logged_in.connect(integrity.staff_logged_in, dispatch_uid="moderation.login")
