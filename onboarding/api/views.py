"""Viewsets of the onboarding API. Thin: each parses input, reads through a selector or the scoped core bases,
and calls one service.

* Partner-owned rows (checklist items, agreement acceptances) use the core's ``ScopedGenericViewSet``: the access
  layer scopes every read, another partner's row answers 404.
* Rows whose scope a selector decides (applications and webhook deliveries are vendor-side; provisioning jobs also
  exist before their partner does) use ``SelectorViewSet`` below: the selector is the only source of rows.
* Agreements and webhook endpoints are program-wide configuration: ``ProgramDataViewSet`` with explicit permissions.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from onboarding import selectors, services
from onboarding.api.filtersets import (
    AgreementAcceptanceFilterSet,
    ChecklistItemFilterSet,
    PartnerApplicationFilterSet,
    ProvisioningJobFilterSet,
    WebhookDeliveryFilterSet,
)
from onboarding.api.serializers import (
    AgreementAcceptanceSerializer,
    AgreementAcceptSerializer,
    AgreementSerializer,
    ApplicationMessageSerializer,
    ApplicationReceiptSerializer,
    ApplicationSubmitSerializer,
    ApprovalSerializer,
    ApproveSerializer,
    ChecklistItemSerializer,
    NoteSerializer,
    OffboardingSerializer,
    PartnerApplicationDetailSerializer,
    PartnerApplicationSerializer,
    ProvisioningJobSerializer,
    RejectSerializer,
    RequestInfoSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointCreateSerializer,
    WebhookEndpointSerializer,
)
from onboarding.models import (
    Agreement,
    AgreementAcceptance,
    ApplicationMessage,
    ChecklistItem,
    ProvisioningStep,
    WebhookEndpoint,
)
from partnerhub import access
from partnerhub.api.base import ProgramDataViewSet, ScopedGenericViewSet, SelectorViewSet
from partnerhub.api.serializers import ConflictErrorResponseSerializer, EmptySerializer

CONFLICT = OpenApiResponse(ConflictErrorResponseSerializer, description="The request clashes with the current state.")
REVIEW_ACTIONS = ("approve", "reject", "request_info", "notes")


def _validated(serializer_class, request, **kwargs) -> dict:
    serializer = serializer_class(data=request.data, context={"request": request}, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _is_reviewer(user) -> bool:
    return access.is_vendor_staff(user) and user.has_perm("onboarding.review_partnerapplication")


# Bases ---------------------------------------------------------------------------------------------------------


class VendorStaffOnly(permissions.DjangoModelPermissions):
    """Vendor-side data: vendor staff holding the model permission for the method (``view`` for reads).

    Partner users are refused whatever the object; anonymous callers are asked to authenticate.
    """

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }
    message = "Only vendor staff with access to this data can use this endpoint."

    def has_permission(self, request, view):
        if not access.is_authenticated(request.user):
            return False
        if not access.is_vendor_staff(request.user):
            raise exceptions.PermissionDenied(self.message)
        return super().has_permission(request, view)


# Applications --------------------------------------------------------------------------------------------------


class ApplicationSubmitThrottle(SimpleRateThrottle):
    """Public applications per client address: ``ONBOARDING_APPLICATION_RATE`` (default ten an hour).

    ``X-Forwarded-For`` counts only when ``NUM_PROXIES`` says how many proxies to trust; otherwise a client could
    pick a fresh address for every request.
    """

    scope = "application_submit"

    def get_rate(self) -> str:
        return getattr(settings, "ONBOARDING_APPLICATION_RATE", "10/hour")

    def get_ident(self, request) -> str:
        if api_settings.NUM_PROXIES:
            return super().get_ident(request)
        return request.META.get("REMOTE_ADDR", "")

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def _client_address(request) -> str | None:
    ident = ApplicationSubmitThrottle().get_ident(request).split(",")[0].strip()
    try:
        return str(ipaddress.ip_address(ident))
    except ValueError:
        return None


class ApplicationPermission(permissions.BasePermission):
    """Anybody may apply. The queue is for vendor staff with ``onboarding.view_partnerapplication`` (others: 403 on
    the list, 404 on an application); decisions and notes for reviewers (``onboarding.review_partnerapplication``)."""

    def has_permission(self, request, view):
        if view.action == "create":
            return True
        user = request.user
        if not access.is_authenticated(user):
            return False
        if view.action == "list" and not (
            access.is_vendor_staff(user) and user.has_perm("onboarding.view_partnerapplication")
        ):
            raise exceptions.PermissionDenied("Partner applications are reviewed by vendor staff only.")
        return True

    def has_object_permission(self, request, view, obj):
        if view.action in REVIEW_ACTIONS and not _is_reviewer(request.user):
            raise exceptions.PermissionDenied("Only vendor staff who review applications can do this.")
        return True


_THREAD = Prefetch("messages", queryset=ApplicationMessage.objects.select_related("author"))


@extend_schema_view(
    list=extend_schema(summary="The application queue (vendor staff)"),
    retrieve=extend_schema(summary="One application with its thread (vendor staff)"),
)
class PartnerApplicationViewSet(SelectorViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Applications to join the partner program: submitted by anyone, reviewed by vendor staff."""

    select = staticmethod(selectors.application_list)
    prefetch = {"retrieve": (_THREAD, "jobs")}
    serializer_class = PartnerApplicationSerializer
    filterset_class = PartnerApplicationFilterSet
    permission_classes = [ApplicationPermission]
    http_method_names = ["get", "post", "head", "options"]

    def get_serializer_class(self):
        if self.action == "create":
            return ApplicationSubmitSerializer
        if self.action == "retrieve":
            return PartnerApplicationDetailSerializer
        return PartnerApplicationSerializer

    def get_throttles(self):
        throttles = super().get_throttles()
        if getattr(self, "action", None) == "create":
            throttles.append(ApplicationSubmitThrottle())
        return throttles

    @extend_schema(
        request=ApplicationSubmitSerializer,
        responses={201: ApplicationReceiptSerializer},
        summary="Apply to join the partner program (no account needed)",
        description="Rate-limited per client address. The answer holds the applicant's private status link, "
        "which is also e-mailed to the contact.",
        auth=[{}, {"apiKey": []}, {"cookieAuth": []}],  # anonymous, or signed in either way
    )
    def create(self, request, *args, **kwargs):
        data = _validated(ApplicationSubmitSerializer, request)
        application = services.application_submit(data=dict(data), ip_address=_client_address(request))
        response = Response(ApplicationReceiptSerializer(application).data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"  # the status link is a capability
        return response

    def _detail(self, pk) -> Response:
        application = selectors.application_list(user=self.request.user).prefetch_related(_THREAD, "jobs").get(pk=pk)
        return Response(PartnerApplicationDetailSerializer(application, context=self.get_serializer_context()).data)

    @extend_schema(
        request=ApproveSerializer,
        responses={200: ApprovalSerializer, 409: CONFLICT},
        summary="Approve an application and start provisioning (reviewers)",
    )
    @action(detail=True, methods=["post"], serializer_class=ApproveSerializer)
    def approve(self, request, pk=None):
        application = self.get_object()
        data = _validated(ApproveSerializer, request)
        job = services.application_approve(
            actor=request.user, application=application, tier=data.get("tier"), note=data.get("note", "")
        )
        application = selectors.application_list(user=request.user).get(pk=application.pk)
        job = type(job).objects.select_related("partner", "requested_by").prefetch_related("steps").get(pk=job.pk)
        context = self.get_serializer_context()
        return Response(ApprovalSerializer({"application": application, "job": job}, context=context).data)

    @extend_schema(
        request=RejectSerializer,
        responses={200: PartnerApplicationDetailSerializer, 409: CONFLICT},
        summary="Reject an application (reviewers); the applicant receives the reason",
    )
    @action(detail=True, methods=["post"], serializer_class=RejectSerializer)
    def reject(self, request, pk=None):
        application = self.get_object()
        data = _validated(RejectSerializer, request)
        services.application_reject(actor=request.user, application=application, reason=data["reason"])
        return self._detail(application.pk)

    @extend_schema(
        request=RequestInfoSerializer,
        responses={200: PartnerApplicationDetailSerializer, 409: CONFLICT},
        summary="Ask the applicant for more information (reviewers)",
    )
    @action(detail=True, methods=["post"], url_path="request-info", serializer_class=RequestInfoSerializer)
    def request_info(self, request, pk=None):
        application = self.get_object()
        data = _validated(RequestInfoSerializer, request)
        services.application_request_info(actor=request.user, application=application, message=data["message"])
        return self._detail(application.pk)

    @extend_schema(
        request=NoteSerializer,
        responses={201: ApplicationMessageSerializer},
        summary="Add an internal note for other reviewers",
    )
    @action(detail=True, methods=["post"], serializer_class=NoteSerializer)
    def notes(self, request, pk=None):
        application = self.get_object()
        data = _validated(NoteSerializer, request)
        note = services.application_note(actor=request.user, application=application, message=data["message"])
        note = ApplicationMessage.objects.select_related("author").get(pk=note.pk)
        return Response(ApplicationMessageSerializer(note).data, status=status.HTTP_201_CREATED)


# Agreements ----------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Published agreement versions"),
    retrieve=extend_schema(summary="One published agreement version"),
    create=extend_schema(
        responses={201: AgreementSerializer, 409: CONFLICT},
        summary="Publish a new agreement version (vendor staff)",
        description="Every partner must accept the new version before using the portal again.",
    ),
)
class AgreementViewSet(ProgramDataViewSet):
    """The program agreement's published versions: every signed-in user reads them; vendor staff holding
    ``onboarding.add_agreement`` publish new ones. Published versions are never edited or deleted."""

    base_queryset = Agreement.objects.filter(published_at__isnull=False)
    serializer_class = AgreementSerializer
    http_method_names = ["get", "post", "head", "options"]

    def get_permissions(self):
        if getattr(self, "action", None) == "accept":
            # Recording an acceptance is the partner admins' act; the partner field decides for which partners.
            return [permissions.IsAuthenticated()]
        return super().get_permissions()

    def create_object(self, serializer):
        data = serializer.validated_data
        return services.agreement_publish(actor=self.request.user, title=data["title"], body=data["body"])

    @extend_schema(responses={200: AgreementSerializer}, summary="The current agreement version")
    @action(detail=False, methods=["get"])
    def current(self, request):
        agreement = services.current_agreement()
        if agreement is None:
            raise exceptions.NotFound("No agreement has been published yet.")
        return Response(AgreementSerializer(agreement, context=self.get_serializer_context()).data)

    @extend_schema(
        request=AgreementAcceptSerializer,
        responses={201: AgreementAcceptanceSerializer, 200: AgreementAcceptanceSerializer, 409: CONFLICT},
        summary="Accept this agreement version for a partner (partner admins)",
        description="Only the current version can be accepted. Accepting again answers 200 with the first acceptance.",
    )
    @action(detail=True, methods=["post"], serializer_class=AgreementAcceptSerializer)
    def accept(self, request, pk=None):
        agreement = self.get_object()
        partner = _validated(AgreementAcceptSerializer, request)["partner"]
        existed = selectors.acceptance_list(user=request.user).filter(partner=partner, agreement=agreement).exists()
        acceptance = services.agreement_accept(
            actor=request.user,
            partner=partner,
            agreement=agreement,
            ip_address=_client_address(request),
            user_agent=request.headers.get("User-Agent", ""),
        )
        acceptance = selectors.acceptance_list(user=request.user).get(pk=acceptance.pk)
        return Response(
            AgreementAcceptanceSerializer(acceptance).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )


class AgreementAcceptanceViewSet(ScopedGenericViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Who accepted which agreement version for the caller's partners, when and from which address."""

    base_queryset = AgreementAcceptance.objects.select_related("accepted_by")
    serializer_class = AgreementAcceptanceSerializer
    filterset_class = AgreementAcceptanceFilterSet


# Checklists ----------------------------------------------------------------------------------------------------


@extend_schema_view(
    partial_update=extend_schema(
        responses={200: ChecklistItemSerializer, 409: CONFLICT},
        summary="Tick an item off or reopen it (partner admins, vendor staff)",
    )
)
class ChecklistItemViewSet(
    ScopedGenericViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin
):
    """The onboarding checklists of the caller's partners. Partner admins and vendor staff in scope tick items
    off; items completed by an event (agreement accepted, tax form uploaded) cannot be reopened by hand."""

    base_queryset = ChecklistItem.objects.select_related("completed_by")
    serializer_class = ChecklistItemSerializer
    filterset_class = ChecklistItemFilterSet
    http_method_names = ["get", "patch", "head", "options"]

    def update_object(self, serializer):
        data = serializer.validated_data
        if "is_done" not in data:
            raise exceptions.ValidationError({"done": ["Send done: true to tick the item off, false to reopen it."]})
        item = services.checklist_item_set_done(actor=self.request.user, item=serializer.instance, done=data["is_done"])
        return ChecklistItem.objects.select_related("completed_by").get(pk=item.pk)


# Jobs ----------------------------------------------------------------------------------------------------------

_STEPS = Prefetch("steps", queryset=ProvisioningStep.objects.order_by("position", "id"))


class ProvisioningJobViewSet(SelectorViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Provisioning and offboarding jobs of the caller's partners (partner admins, vendor staff), each with its
    steps: state, attempts, timings and last error. Vendor-wide staff also see jobs not yet tied to a partner."""

    select = staticmethod(selectors.job_list)
    prefetch = {"list": (_STEPS,), "retrieve": (_STEPS,), "retry": (_STEPS,)}
    serializer_class = ProvisioningJobSerializer
    filterset_class = ProvisioningJobFilterSet
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=None,
        responses={200: ProvisioningJobSerializer, 409: CONFLICT},
        summary="Retry the failed steps of a failed job (vendor staff)",
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        job = self.get_object()
        _validated(EmptySerializer, request)
        services.job_retry(actor=request.user, job=job)  # checks the retry permission and the job's scope
        job = self.get_queryset().get(pk=job.pk)
        return Response(ProvisioningJobSerializer(job, context=self.get_serializer_context()).data)


class OffboardingPermission(permissions.BasePermission):
    message = "Only vendor staff who manage partner status can offboard a partner."

    def has_permission(self, request, view):
        user = request.user
        if not access.is_authenticated(user):
            return False
        return access.is_vendor_staff(user) and user.has_perm("partnerhub.change_partner_status")


class OffboardingViewSet(viewsets.GenericViewSet):
    """Start offboarding a partner: users deactivated, keys and grants revoked, status offboarded, data kept."""

    serializer_class = OffboardingSerializer
    permission_classes = [OffboardingPermission]

    @extend_schema(
        request=OffboardingSerializer,
        responses={202: ProvisioningJobSerializer, 409: CONFLICT},
        summary="Offboard a partner (vendor staff)",
        description="Starts the offboarding job and answers with it; while one runs, the same job is returned.",
    )
    @transaction.atomic
    def create(self, request, *args, **kwargs):
        data = _validated(OffboardingSerializer, request)
        job = services.partner_offboard(actor=request.user, partner=data["partner"], reason=data["reason"])
        job = selectors.job_list(user=request.user).prefetch_related(_STEPS).filter(pk=job.pk).first() or job
        return Response(ProvisioningJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


# Webhooks ------------------------------------------------------------------------------------------------------


@extend_schema_view(create=extend_schema(responses={201: WebhookEndpointCreateSerializer}))
class WebhookEndpointViewSet(ProgramDataViewSet):
    """Downstream systems that receive signed events (vendor staff with the webhook endpoint permissions)."""

    base_queryset = WebhookEndpoint.objects.all()
    permission_classes = [VendorStaffOnly]

    def get_serializer_class(self):
        return WebhookEndpointCreateSerializer if self.action == "create" else WebhookEndpointSerializer

    def create(self, request, *args, **kwargs):
        response = super().create(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"  # the secret must not linger in caches
        return response


class WebhookDeliveryViewSet(SelectorViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """The delivery log: every event sent to every endpoint, with each HTTP attempt (vendor staff)."""

    select = staticmethod(selectors.delivery_list)
    prefetch = {"list": ("attempt_log",), "retrieve": ("attempt_log",)}
    serializer_class = WebhookDeliverySerializer
    filterset_class = WebhookDeliveryFilterSet
    permission_classes = [VendorStaffOnly]
