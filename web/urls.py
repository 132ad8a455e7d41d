from django.urls import include, path

from web import views, views_catalog
from web.staff import urls as staff_urls

app_name = "web"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("clients/", views.client_list, name="client_list"),
    path("clients/<int:pk>/", views.client_detail, name="client_detail"),
    path("recommendations/", views.recommendation_list, name="recommendation_list"),
    path("recommendations/new/", views.recommendation_create, name="recommendation_create"),
    path("recommendations/<int:pk>/", views.recommendation_detail, name="recommendation_detail"),
    path(
        "recommendations/<int:pk>/<slug:action>/",
        views.recommendation_action,
        name="recommendation_action",
    ),
    path("deliveries/", views.delivery_list, name="delivery_list"),
    # The administration pages (web/staff/): staff, client settings, webhooks.
    path("", include(staff_urls.urlpatterns)),
    path("catalog/", views_catalog.template_list, name="template_list"),
    path("catalog/new/", views_catalog.template_create, name="template_create"),
    path("catalog/<int:pk>/", views_catalog.template_detail, name="template_detail"),
    path("catalog/<int:pk>/revise/", views_catalog.template_revise, name="template_revise"),
]
