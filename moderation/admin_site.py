"""The admin site for platform staff: password plus a TOTP code (TESTPLAN TI-5, ASVS 4.3.1).

``OTPAdminSite`` lets a user in only if this session was verified with one of their OTP devices;
its login form asks for the code. Staff get their device from ``create_staff``, which prints the
``otpauth://`` URI once. Company users (not ``is_staff``) are sent to the login page as before.
"""

from __future__ import annotations

from django_otp.admin import OTPAdminSite


class StaffAdminSite(OTPAdminSite):
    site_header = "Review platform staff"
    site_title = "Review platform staff"
    index_title = "Administration"
