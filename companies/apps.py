from django.apps import AppConfig


class CompaniesConfig(AppConfig):
    name = "companies"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Issue 12: timestamps read from Postgres by the C ISO parser (ekomi/timestamps.py).
        from ekomi import timestamps

        timestamps.install()
        # R41: a published review may notify the company's users. The reviews app announces
        # changes with a signal, so companies listens instead of reviews calling up here.
        from companies.notifications import on_review_changed
        from reviews.signals import review_changed

        review_changed.connect(on_review_changed, dispatch_uid="companies.review_notifications")
