from django.urls import include, path

from web.language import set_language

urlpatterns = [
    path("accounts/", include("allauth.urls")),
    path("language/", set_language, name="set_language"),
    path("api/v1/", include("api.v1.urls")),
    path("followup/", include("followup.urls")),
    path("tracker/", include("tracker.urls")),
    path("verification/", include("verification.urls")),
    path("reports/", include("reports.urls")),
    path("", include("answers.urls")),
    path("", include("web.urls")),
]

# Under /api/ these answer in the API's JSON error shape; elsewhere Django's pages.
handler400 = "api.v1.errors.bad_request"
handler403 = "api.v1.errors.permission_denied"
handler404 = "api.v1.errors.page_not_found"
# A database outage answers a plain 503 (heeded/health.py), other errors as above.
handler500 = "heeded.health.server_error"
