"""Routes of the administration pages; included in ``web.urls`` (names are ``web:``)."""

from django.urls import path

from web.staff import views

urlpatterns = [
    path("staff/", views.staff_list, name="staff_list"),
    path("staff/invite/", views.staff_invite, name="staff_invite"),
    path("staff/<int:pk>/", views.staff_detail, name="staff_detail"),
    path("staff/<int:pk>/<slug:action>/", views.staff_action, name="staff_action"),
    path("staff/welcome/<str:uidb64>/<str:token>/", views.staff_welcome, name="staff_welcome"),
    path("clients/new/", views.client_create, name="client_create"),
    path("clients/<int:pk>/settings/", views.client_settings, name="client_settings"),
    path("clients/<int:pk>/staff/<slug:action>/", views.client_staff, name="client_staff"),
    path("clients/<int:pk>/contacts/new/", views.contact_create, name="contact_create"),
    path("clients/<int:pk>/policy/", views.client_policy, name="client_policy"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/deactivate/", views.contact_deactivate, name="contact_deactivate"),
    path("settings/webhooks/", views.webhooks, name="webhooks"),
    path("settings/webhooks/<int:pk>/disable/", views.webhook_disable, name="webhook_disable"),
]
