"""API key authentication: hashed, expiring keys (django-rest-knox) that act for their user."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication
from rest_framework import exceptions

from partnerhub.auth_backends import user_may_sign_in


class ApiTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``. A key of a suspended partner's user stops working at once."""

    def validate_user(self, auth_token):
        user = auth_token.user
        if not user.is_active or not user_may_sign_in(user):
            raise exceptions.AuthenticationFailed(_("This key's user cannot sign in (inactive user or partner)."))
        now = timezone.now()
        # Record use at most once a minute per key, so busy integrations do not write on every call.
        if auth_token.last_used_at is None or (now - auth_token.last_used_at).total_seconds() > 60:
            type(auth_token).objects.filter(pk=auth_token.pk).update(last_used_at=now)
            auth_token.last_used_at = now
        return user, auth_token
