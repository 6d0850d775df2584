"""Root URLs. The public paths are a contract with other software (DESIGN.md §5)."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from companies import views_settings
from ekomi import views

handler404 = "ekomi.views.not_found"
admin.site.site_header = "Review platform staff"
admin.site.site_title = "Review platform staff"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("ekomi.api_urls")),
    path("c/", include("seals.urls")),
    path("r/", include("reviews.urls")),
    path("m/", include("moderation.urls")),
    path("v3/", include("compat.urls")),  # the eKomi API v3 (issue 9)
    path("accounts/", include("companies.urls_accounts")),
    path("backend/", include("companies.urls_backend")),
    path("status/", include("status.urls")),  # public status page (R46)
    path("privacy/", include("privacy.urls")),  # evaluator self-service erasure (R42)
    path(  # one-click unsubscribe of notification emails and the newsletter (R41)
        "notifications/unsubscribe/<str:token>/",
        views_settings.email_unsubscribe,
        name="email-unsubscribe",
    ),
    path("", include("invitations.urls")),  # /u/<token>/ and /c/<slug>/request-link/
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += [path("_dev/mail/", views.mailbox, name="dev-mailbox")]
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
