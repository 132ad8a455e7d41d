from django.urls import path

from verification import views

app_name = "verification"
urlpatterns = [
    path("clients/<int:client_id>/devices/", views.device_list, name="device_list"),
    path("devices/<int:pk>/", views.device_detail, name="device_detail"),
]
