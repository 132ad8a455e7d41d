from django.urls import include, path

urlpatterns = [
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include("api.v1.urls")),
    path("followup/", include("followup.urls")),
    path("tracker/", include("tracker.urls")),
    path("reports/", include("reports.urls")),
    path("", include("answers.urls")),
    path("", include("web.urls")),
]
