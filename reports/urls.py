from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("", views.portfolio, name="portfolio"),
    path("portfolio.pdf", views.portfolio_pdf, name="portfolio_pdf"),
    path("clients/<int:pk>/", views.qbr_page, name="qbr"),
    path("clients/<int:pk>/deliver/", views.qbr_deliver, name="qbr_deliver"),
    path("clients/<int:pk>/schedule/", views.schedule_set, name="schedule_set"),
    path("clients/<int:pk>/evidence-pack/", views.evidence_pack, name="evidence_pack"),
    path("delivered/<int:pk>/", views.delivered_download, name="delivered_download"),
]
