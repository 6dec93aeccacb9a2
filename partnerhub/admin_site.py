"""The vendor console: Django's admin, made into the channel team's working console."""

from django.contrib.admin import AdminSite


class ConsoleSite(AdminSite):
    site_header = "PartnerHub console"
    site_title = "PartnerHub console"
    index_title = "Channel console"


console = ConsoleSite(name="console")
