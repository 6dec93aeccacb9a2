"""Onboarding pages: the public application form and status page, the vendor review queue, and the partner's
agreement and onboarding pages."""

from django.urls import path

from onboarding import views

app_name = "onboarding"
urlpatterns = [
    # Public (applicants)
    path("apply/", views.apply, name="apply"),
    path("apply/received/", views.apply_received, name="apply_received"),
    path("apply/status/<str:token>/", views.application_status, name="application_status"),
    # Vendor review queue
    path("review/", views.review_queue, name="review_queue"),
    path("review/<int:pk>/", views.review_detail, name="review_detail"),
    path("review/<int:pk>/approve/", views.review_approve, name="review_approve"),
    path("review/<int:pk>/reject/", views.review_reject, name="review_reject"),
    path("review/<int:pk>/request-info/", views.review_request_info, name="review_request_info"),
    path("review/<int:pk>/note/", views.review_note, name="review_note"),
    path("review/jobs/<int:pk>/", views.job_detail, name="job_detail"),
    path("review/jobs/<int:pk>/retry/", views.job_retry, name="job_retry"),
    # Partner portal
    path("onboarding/agreement/", views.agreement, name="agreement"),
    path("onboarding/", views.onboarding_home, name="home"),
    path("onboarding/checklist/<int:pk>/", views.checklist_item, name="checklist_item"),
    path("onboarding/documents/", views.document_upload, name="document_upload"),
    path("onboarding/documents/<int:pk>/", views.document_download, name="document_download"),
    path("onboarding/integration-key/", views.integration_key, name="integration_key"),
]
