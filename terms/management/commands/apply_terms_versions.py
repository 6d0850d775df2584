from ekomi.commands import JobCommand
from terms.services import terms_apply_due


class Command(JobCommand):
    help = "Terms versions bind silent companies on their effective date (R45). Safe twice."
    job = terms_apply_due
    label = "terms acceptances recorded"
