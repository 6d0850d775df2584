from ekomi.commands import JobCommand
from status.services import health_sample


def _sample() -> int:
    return int(health_sample().ok)


class Command(JobCommand):
    help = "Record one health sample, the checks /healthz runs (R46). Safe to run twice."
    job = _sample
    label = "healthy"
