"""``/api/v1/``: one router for every app's API views."""

from rest_framework.routers import SimpleRouter

from companies.views_api import ProductViewSet

router = SimpleRouter(trailing_slash=False)
router.register("products", ProductViewSet, basename="product")

urlpatterns = router.urls
