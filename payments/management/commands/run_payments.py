from ekomi.commands import JobCommand
from payments.dunning import payments_run


class Command(JobCommand):
    help = "Pre-notify debits, send reminders, charge late fees and interest (R35, R36, R39)."
    job = payments_run
    label = "payment actions"
