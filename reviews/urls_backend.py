"""/backend/reviews/: the chosen shop's reviews (included into the ``backend`` namespace)."""

from django.urls import path

from reviews import views_backend as views

urlpatterns = [
    path("", views.review_list, name="review-list"),
    path("export.csv", views.review_export, name="review-export"),
    path("<int:review_id>/", views.review_detail_view, name="review-detail"),
    path("<int:review_id>/comment/", views.review_comment, name="review-comment"),
    path(
        "<int:review_id>/comment/delete/",
        views.review_comment_delete,
        name="review-comment-delete",
    ),
    path("<int:review_id>/dialogue/", views.review_dialogue, name="review-dialogue"),
    path("<int:review_id>/complaints/", views.review_complaint, name="review-complaint"),
]
