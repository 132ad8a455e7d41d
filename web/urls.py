from django.urls import include, path

from web import recommendation_work, views, views_catalog
from web.staff import urls as staff_urls

app_name = "web"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("clients/", views.client_list, name="client_list"),
    path("clients/<int:pk>/", views.client_detail, name="client_detail"),
    path("clients/<int:pk>/timeline/", recommendation_work.client_timeline, name="client_timeline"),
    path("recommendations/", views.recommendation_list, name="recommendation_list"),
    path("recommendations/new/", views.recommendation_create, name="recommendation_create"),
    path("recommendations/apply/", recommendation_work.apply_template, name="apply_template"),
    path(
        "recommendations/applied/",
        recommendation_work.recommendations_applied,
        name="recommendations_applied",
    ),
    path(
        "recommendations/present/",
        recommendation_work.recommendations_present,
        name="recommendations_present",
    ),
    path("recommendations/<int:pk>/", views.recommendation_detail, name="recommendation_detail"),
    # Before the action pattern, which would take "edit" and "timeline" for actions.
    path(
        "recommendations/<int:pk>/edit/",
        recommendation_work.recommendation_edit,
        name="recommendation_edit",
    ),
    path(
        "recommendations/<int:pk>/timeline/",
        recommendation_work.recommendation_timeline,
        name="recommendation_timeline",
    ),
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
