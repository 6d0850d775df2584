from billing.services import billing_run
from ekomi.commands import JobCommand


class Command(JobCommand):
    help = "Renew contracts, issue invoices, collect and dun (R32-R40). Safe to run twice."
    job = billing_run
    label = "billing actions"
