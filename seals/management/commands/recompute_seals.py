from ekomi.commands import JobCommand
from seals.services import seals_recompute_all


class Command(JobCommand):
    help = "Recompute every shop's average and seal (R24-R26). Safe to run twice."
    job = seals_recompute_all
    label = "shops recomputed"
