from django.apps import AppConfig


class SealsConfig(AppConfig):
    name = "seals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from companies.signals import shop_enforcement_changed
        from reviews.signals import review_changed
        from seals import receivers

        review_changed.connect(
            receivers.review_changed, dispatch_uid="seals.recompute_on_review_changed"
        )
        shop_enforcement_changed.connect(
            receivers.shop_enforcement_changed, dispatch_uid="seals.bump_on_enforcement_changed"
        )
