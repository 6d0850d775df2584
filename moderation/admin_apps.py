"""Django admin with a second factor (TESTPLAN TI-5): the default site is ``StaffAdminSite``.

Listed in ``INSTALLED_APPS`` instead of ``django.contrib.admin`` (Django's documented way to
replace the default site). This module imports nothing that needs the app registry.
"""

from django.contrib.admin.apps import AdminConfig


class StaffAdminConfig(AdminConfig):
    default_site = "moderation.admin_site.StaffAdminSite"
