"""``/api/v1/order-imports``: CSV files of orders, imported in the background (R5; IN-3, ID-3).

``POST`` stores the file and answers 202 with a URL to poll; the Celery task reads it and keeps
the counts current; ``GET …/{id}/report`` downloads every rejected line with its reason.
"""

from __future__ import annotations

import csv
import io

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.reverse import reverse

from companies.api import ShopScopedViewSet
from invitations.csv_import import MAX_FILE_BYTES, OrderImportRefused, order_import_create
from invitations.models import OrderImport

# Multipart boundaries and part headers around the file; a body beyond this is refused unread.
_MULTIPART_OVERHEAD = 64 * 1024
_UUID = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Import id")


class ReportLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="Physical line in the file; 1 is the first line.")
    order_id = serializers.CharField(allow_blank=True)
    reason = serializers.CharField()


class OrderImportSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    status = serializers.ChoiceField(choices=OrderImport.Status.choices)
    original_name = serializers.CharField()
    rows_total = serializers.IntegerField(
        help_text="Data rows in the file: an estimate from its line count while running, "
        "exact when done."
    )
    rows_processed = serializers.IntegerField()
    orders_created = serializers.IntegerField()
    orders_known = serializers.IntegerField(help_text="Orders that already existed (R5).")
    rows_rejected = serializers.IntegerField()
    report_sample = ReportLineSerializer(
        many=True,
        help_text="The first 100 lines of the report: rejected lines with their reasons, and "
        "a notice about ignored columns on the header line.",
    )
    error = serializers.CharField(help_text="Why a failed import stopped; empty otherwise.")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    url = serializers.SerializerMethodField()
    report_url = serializers.SerializerMethodField()

    def _url(self, name: str, job: OrderImport) -> str:
        return reverse(name, kwargs={"id": job.public_id}, request=self.context.get("request"))

    def get_url(self, job: OrderImport) -> str:
        return self._url("order-import-detail", job)

    def get_report_url(self, job: OrderImport) -> str | None:
        return self._url("order-import-report", job) if job.report else None


class OrderImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, use_url=False)


class CsvRenderer(BaseRenderer):
    """The report is sent as a file; an error answer to ``Accept: text/csv`` stays CSV too."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes | str) or data is None:
            return data or b""
        out = io.StringIO()
        rows = data if isinstance(data, list) else [data]
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else [])
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().encode()


class OrderImportPagination(CursorPagination):
    page_size = 50
    ordering = ("-created_at", "-id")


def _refusal(message: str, code: str, http_status: int) -> Response:
    return Response({"detail": message, "code": code}, status=http_status)


class OrderImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ShopScopedViewSet):
    """The shop's CSV imports, newest first."""

    model = OrderImport
    serializer_class = OrderImportSerializer
    parser_classes = [MultiPartParser]
    pagination_class = OrderImportPagination
    lookup_field = "public_id"
    lookup_url_kwarg = "id"
    lookup_value_regex = _UUID

    def scope_queryset(self, queryset):
        return queryset.order_by("-created_at", "-id")

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
        responses={
            202: OrderImportSerializer,
            400: OpenApiResponse(description="No file, or an empty one."),
            413: OpenApiResponse(description="The file is larger than 200 MB."),
        },
        description="Upload a CSV file of orders (`;`, `,` or tab separated; UTF-8 or "
        "Latin-1; English or German column names; required: order_id, email, order_date). "
        "The import runs in the background: poll the `url` of the answer. Every good row is "
        "taken, every bad row is listed in the report with its line number and reason; "
        "importing the same file again creates nothing new (R5).",
    )
    def create(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_FILE_BYTES + _MULTIPART_OVERHEAD:
            return _refusal(
                f"The file is larger than {MAX_FILE_BYTES // 2**20} MB; split it into several "
                "files.",
                "file_too_large",
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        upload = OrderImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        file = upload.validated_data["file"]
        try:
            job = order_import_create(shop=self.shop, uploaded_file=file, original_name=file.name)
        except OrderImportRefused as exc:
            too_large = exc.code == "file_too_large"
            code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE if too_large else 400
            return _refusal(str(exc), exc.code, code)
        data = self.get_serializer(job).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})

    @extend_schema(
        description="The shop's imports, newest first; 50 per page, follow `next` for more."
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        parameters=[_ID],
        description="One import: its status, progress counts (poll while queued or running), "
        "the first 100 report lines and, once finished, the URL of the full report.",
    )
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        parameters=[_ID],
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description="Columns line, order_id, reason (UTF-8 with BOM, RFC 4180; cells "
                "that start like a formula are prefixed with a single quote).",
            ),
            404: OpenApiResponse(description="No such import for this shop."),
            409: OpenApiResponse(description="The import has not finished yet."),
        },
    )
    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, CsvRenderer])
    def report(self, request, *args, **kwargs):
        """Every rejected line of a finished import, as a CSV file."""
        job = self.get_object()
        if not job.report:
            return _refusal(
                "The report is ready when the import has finished; poll the import first.",
                "report_not_ready",
                status.HTTP_409_CONFLICT,
            )
        try:
            stream = job.report.storage.open(job.report.name, "rb")
        except FileNotFoundError:
            return _refusal("The report file is no longer available.", "report_gone", 404)
        return FileResponse(
            stream,
            as_attachment=True,
            filename=f"order-import-{job.public_id}-report.csv",
            content_type="text/csv; charset=utf-8",
        )
