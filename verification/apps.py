from django.apps import AppConfig


class VerificationConfig(AppConfig):
    name = "verification"

    def ready(self) -> None:
        from followup.jobs import every_minutes, periodic
        from verification.jobs import VERIFY_JOB, verify_every, verify_job

        periodic(VERIFY_JOB, period_of=every_minutes(verify_every), work=verify_job)
