"""REST API foundations: API-key authentication and the shop-scoped base viewset (STYLE.md 7).

Every API request authenticates as one shop. ``ShopScopedViewSet`` builds every queryset from
that shop and runs the whole request inside the company's tenant scope; subclasses cannot
override ``get_queryset``/``get_object`` (checked when the class is defined, TESTPLAN TI-4).
"""

from __future__ import annotations

from contextlib import ExitStack

from rest_framework import exceptions, viewsets

from companies.tenancy import tenant_scope


class ShopScopedViewSet(viewsets.GenericViewSet):
    """Base of every tenant API view: querysets come from the authenticated shop only.

    Subclasses set ``model`` and may narrow the shop's rows in ``scope_queryset``.
    """

    model = None
    _forbidden_overrides = ("get_queryset", "get_object")

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in cls._forbidden_overrides:
            if name in cls.__dict__:
                raise TypeError(
                    f"{cls.__name__} must not override {name}(); narrow rows in scope_queryset()."
                )

    @property
    def shop(self):
        return self.request.auth.shop

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self._tenant_stack = ExitStack()
        self._tenant_stack.enter_context(tenant_scope(request.auth.company_id))

    def finalize_response(self, request, response, *args, **kwargs):
        stack = getattr(self, "_tenant_stack", None)
        if stack is not None:
            stack.close()
        return super().finalize_response(request, response, *args, **kwargs)

    def scope_queryset(self, queryset):
        return queryset

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no request shop
            return self.model.objects.none()
        queryset = self.model.objects.for_company(self.request.auth.company_id).filter(
            shop_id=self.request.auth.shop_id
        )
        return self.scope_queryset(queryset)

    def get_object(self):
        queryset = self.filter_queryset(self.get_queryset())
        lookup_url_kwarg = self.lookup_url_kwarg or self.lookup_field
        obj = queryset.filter(**{self.lookup_field: self.kwargs[lookup_url_kwarg]}).first()
        if obj is None:
            raise exceptions.NotFound()
        self.check_object_permissions(self.request, obj)
        return obj
