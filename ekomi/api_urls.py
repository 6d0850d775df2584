"""``/api/v1/``: one router for every app's API views."""

from rest_framework.routers import SimpleRouter

from companies.views_api import ProductViewSet
from invitations.views_api import OrderViewSet
from invitations.views_imports import OrderImportViewSet
from moderation.views_api import ComplaintViewSet, DialogueViewSet
from moderation.views_privacy import ErasureViewSet
from reviews.views_api import UUID_PATTERN, ReviewViewSet

router = SimpleRouter(trailing_slash=False)
router.register("products", ProductViewSet, basename="product")
router.register("orders", OrderViewSet, basename="order")
router.register("order-imports", OrderImportViewSet, basename="order-import")
router.register("reviews", ReviewViewSet, basename="review")
router.register(
    rf"reviews/(?P<review_id>{UUID_PATTERN})/dialogue", DialogueViewSet, basename="review-dialogue"
)
router.register("complaints", ComplaintViewSet, basename="complaint")
router.register("erasures", ErasureViewSet, basename="erasure")

urlpatterns = router.urls
