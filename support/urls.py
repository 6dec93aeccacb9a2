"""Support pages: the partner's desk and tickets, the vendor agents' queue, the knowledge base, and the
partner-branded help center for end customers."""

from django.urls import path

from support import views

app_name = "support"
urlpatterns = [
    # Partner portal: desk, tickets, knowledge base
    path("support/", views.desk, name="desk"),
    path("support/new/", views.ticket_new, name="ticket_new"),
    path("support/tickets/<int:pk>/", views.ticket, name="ticket"),
    path("support/attachments/<int:pk>/", views.attachment, name="attachment"),
    path("support/suggest/", views.suggest, name="suggest"),
    path("kb/", views.kb, name="kb"),
    path("kb/new/", views.article_new, name="article_new"),
    path("kb/<int:pk>/", views.article, name="article"),
    path("kb/<int:pk>/edit/", views.article_edit, name="article_edit"),
    # Vendor agents
    path("agents/tickets/", views.agent_queue, name="agent_queue"),
    path("agents/tickets/<int:pk>/", views.agent_ticket, name="agent_ticket"),
    # Help center (end customers, on the partner's host)
    path("help/", views.help_home, name="help_home"),
    path("help/articles/<int:pk>/", views.help_article, name="help_article"),
    path("help/suggest/", views.help_suggest, name="help_suggest"),
    path("help/request/", views.help_request, name="help_request"),
    path("help/request/sent/", views.help_request_sent, name="help_request_sent"),
    path("help/verify/<str:token>/", views.help_verify, name="help_verify"),
    path("help/tickets/<str:token>/", views.help_ticket, name="help_ticket"),
    path("help/tickets/<str:token>/attachments/<int:pk>/", views.help_attachment, name="help_attachment"),
]
