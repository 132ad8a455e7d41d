from django.urls import path

from answers import views

app_name = "answers"
urlpatterns = [
    path("answer/<str:token>/", views.answer, name="answer"),
    path("answer/<str:token>/renew/", views.renew, name="renew"),
    path("portal/", views.portal_home, name="portal_home"),
    path("portal/sign-in/", views.portal_sign_in, name="portal_sign_in"),
    path("portal/sign-in/<str:token>/", views.portal_sign_in_link, name="portal_sign_in_link"),
    path("portal/sign-out/", views.portal_sign_out, name="portal_sign_out"),
    path(
        "portal/recommendations/<int:pk>/",
        views.portal_recommendation,
        name="portal_recommendation",
    ),
    path("answers/review/", views.review_queue, name="review_queue"),
    path("answers/inbound/<int:pk>/", views.inbound_detail, name="inbound_detail"),
    path("clients/<int:client_pk>/meeting/", views.meeting_create, name="meeting_create"),
    path("clients/<int:client_pk>/present/", views.present_batch, name="present_batch"),
    path("clients/<int:client_pk>/authority/", views.authority_edit, name="authority_edit"),
]
