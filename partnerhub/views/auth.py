"""Sign-in, sign-out and password reset: Django's auth views with the portal's forms, brand and templates."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.urls import reverse, reverse_lazy

from partnerhub.context_processors import current_brand
from partnerhub.forms import BrandedPasswordResetForm, LoginForm, NewPasswordForm


class LoginView(auth_views.LoginView):
    """The sign-in page, drawn in the brand of the host it is opened on."""

    form_class = LoginForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        user = self.request.user
        if user.is_authenticated and (user.is_staff or user.is_superuser):
            return reverse("console:index")
        return super().get_default_redirect_url()


class LogoutView(auth_views.LogoutView):
    """Sign out (POST only, so no link or image on another site can sign anyone out)."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You have signed out.")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Ask for a reset link. The answer is the same whether or not the address has an account."""

    form_class = BrandedPasswordResetForm
    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    html_email_template_name = "registration/password_reset_email.html"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "host_brand": getattr(self.request, "host_brand", None)}

    def form_valid(self, form):
        # The e-mail wears the brand of the portal the request came from (links point back to that host).
        self.extra_email_context = {"brand": current_brand(self.request)}
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = NewPasswordForm
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_complete.html"
