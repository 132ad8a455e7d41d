from django.urls import path

from followup import callbacks, views

app_name = "followup"
urlpatterns = [
    path("tickets/", views.ticket_list, name="ticket_list"),
    path("tickets/<int:pk>/", views.ticket_detail, name="ticket_detail"),
    path("tickets/<int:pk>/<slug:action>/", views.ticket_action, name="ticket_action"),
    path("psa/callback/", callbacks.psa_callback, name="psa_callback"),
]
