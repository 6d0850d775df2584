"""``/api/v1/``: one router for every app's API views."""

from rest_framework.routers import SimpleRouter

from companies.views_api import ProductViewSet
from invitations.views_api import OrderViewSet

router = SimpleRouter(trailing_slash=False)
router.register("products", ProductViewSet, basename="product")
router.register("orders", OrderViewSet, basename="order")

urlpatterns = router.urls
