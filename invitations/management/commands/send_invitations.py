from ekomi.commands import JobCommand
from invitations.sending import invitations_send_due


class Command(JobCommand):
    help = "Send due invitations and reminders (R7). Safe to run twice."
    job = invitations_send_due
    label = "invitations queued"
