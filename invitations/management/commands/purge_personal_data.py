from ekomi.commands import JobCommand


def _purge_all() -> dict[str, int]:
    # Imported here: moderation depends on invitations, not the other way round.
    from moderation.retention import personal_data_purge

    return personal_data_purge()


class Command(JobCommand):
    help = "Run every retention rule (R11, R14, R23) once; see docs/privacy.md. Safe to run twice."
    job = _purge_all
    label = "personal data erased"

    def handle(self, *args, **options):
        counts = type(self).job()
        for rule, count in counts.items():
            self.stdout.write(f"  {rule}: {count}")
        self.stdout.write(f"{self.label}: {sum(counts.values())}")
