"""``/api/v1/``: one router for every app's API views."""

from rest_framework.routers import SimpleRouter

from companies.views_api import ProductViewSet
from invitations.views_api import OrderViewSet
from invitations.views_imports import OrderImportViewSet

router = SimpleRouter(trailing_slash=False)
router.register("products", ProductViewSet, basename="product")
router.register("orders", OrderViewSet, basename="order")
router.register("order-imports", OrderImportViewSet, basename="order-import")

urlpatterns = router.urls
