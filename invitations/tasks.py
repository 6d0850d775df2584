"""Periodic jobs of the invitations app (each also a management command)."""

from celery import shared_task

from invitations import services


@shared_task(name="invitations.expire_links")
def expire_links() -> int:
    return services.invitations_expire()


@shared_task(name="invitations.purge_personal_data")
def purge_personal_data() -> int:
    return services.invitations_purge_personal_data()


@shared_task(name="invitations.send_invitations")
def send_invitations() -> int:
    from invitations.sending import invitations_send_due

    return invitations_send_due()
