from django.urls import path

from tracker import views

app_name = "tracker"
urlpatterns = [
    path("", views.tracker_page, name="tracker"),
    path("preview/", views.tracker_preview, name="tracker_preview"),
    path("preview/<int:pk>/", views.tracker_preview_show, name="tracker_preview_show"),
    path(
        "preview/<int:pk>/progress/",
        views.tracker_preview_progress,
        name="tracker_preview_progress",
    ),
    path("remap/", views.tracker_remap, name="tracker_remap"),
    path("confirm/", views.tracker_confirm, name="tracker_confirm"),
    path("export/", views.tracker_export, name="tracker_export"),
]
