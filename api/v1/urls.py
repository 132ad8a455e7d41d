from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny
from rest_framework.routers import SimpleRouter

from api.v1 import answers as answers_api
from api.v1 import followup as followup_api
from api.v1 import verification as verification_api
from api.v1 import views

app_name = "api"

router = SimpleRouter()
router.register("clients", views.ClientViewSet, basename="client")
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("templates", views.TemplateViewSet, basename="template")
router.register("recommendations", views.RecommendationViewSet, basename="recommendation")
router.register("tickets", followup_api.TicketViewSet, basename="ticket")
router.register("deliveries", followup_api.DeliveryViewSet, basename="delivery")
router.register("presentations", answers_api.PresentationViewSet, basename="presentation")
router.register("answer-links", answers_api.AnswerLinkViewSet, basename="answer-link")
router.register("inbound", answers_api.InboundViewSet, basename="inbound")
router.register("meetings", answers_api.MeetingViewSet, basename="meeting")
router.register("devices", verification_api.DeviceViewSet, basename="device")
router.register(
    "enrollment-tokens", verification_api.EnrollmentTokenViewSet, basename="enrollment-token"
)
router.register("device-reviews", verification_api.DeviceReviewViewSet, basename="device-review")

urlpatterns = [
    *router.urls,
    path(
        "endpoint-reports",
        verification_api.EndpointReportView.as_view(),
        name="endpoint-reports",
    ),
    path(
        "recommendations/<int:recommendation_id>/devices/",
        verification_api.RecommendationComplianceView.as_view(),
        name="recommendation-devices",
    ),
    path(
        "clients/<int:client_id>/device-compliance/",
        verification_api.ClientDeviceScoreView.as_view(),
        name="client-device-compliance",
    ),
    path(
        "clients/<int:client_id>/device-compliance/history/",
        verification_api.ClientDeviceScoreHistoryView.as_view(),
        name="client-device-compliance-history",
    ),
    path(
        "clients/<int:client_id>/ledger/events/",
        views.LedgerEventList.as_view(),
        name="client-ledger-events",
    ),
    path(
        "clients/<int:client_id>/ledger/head/",
        views.LedgerHead.as_view(),
        name="client-ledger-head",
    ),
    # The API description is public: it is the same document as docs/openapi.yaml.
    path("schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="schema"),
    path("docs/", views.SwaggerDocsView.as_view(url_name="api:schema"), name="docs"),
]
