from ekomi.commands import JobCommand
from invitations.services import invitations_purge_personal_data


class Command(JobCommand):
    help = "Erase invitation personal data past its retention period (R11). Safe to run twice."
    job = invitations_purge_personal_data
    label = "invitations erased"
