from django.urls import path

from verification import views

app_name = "verification"
urlpatterns = [
    path("clients/<int:client_id>/devices/", views.device_list, name="device_list"),
    path(
        "clients/<int:client_id>/collector.ps1",
        views.collector_download,
        name="collector_download",
    ),
    path("clients/<int:client_id>/tokens/", views.token_create, name="token_create"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("reviews/<int:pk>/resolve/", views.review_resolve, name="review_resolve"),
    path("devices/<int:pk>/", views.device_detail, name="device_detail"),
    path("devices/<int:pk>/tags/", views.device_tags, name="device_tags"),
]
