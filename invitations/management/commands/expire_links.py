from ekomi.commands import JobCommand
from invitations.services import invitations_expire


class Command(JobCommand):
    help = "Disable rating links six months after creation (R9). Safe to run twice."
    job = invitations_expire
    label = "links expired"
