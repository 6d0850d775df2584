from ekomi.commands import JobCommand
from seals.services import seals_recompute_all


class Command(JobCommand):
    help = (
        "Recompute every shop's and product's average and seal (R24-R26) in a fixed number of "
        "queries. Safe to run twice: a second run the same day changes nothing."
    )
    job = seals_recompute_all
    label = "seal statuses created, changed or re-dated"
