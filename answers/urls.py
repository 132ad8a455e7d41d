from django.urls import path

from answers import views

app_name = "answers"
urlpatterns = [
    path("answer/<str:token>/", views.answer, name="answer"),
    path("answer/<str:token>/renew/", views.renew, name="renew"),
]
