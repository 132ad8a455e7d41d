from django.apps import AppConfig


class VerificationConfig(AppConfig):
    name = "verification"

    def ready(self) -> None:
        from followup.jobs import every_minutes, periodic
        from verification.jobs import (
            HISTORY_JOB,
            VERIFY_JOB,
            history_job,
            verify_every,
            verify_job,
        )

        periodic(VERIFY_JOB, period_of=every_minutes(verify_every), work=verify_job)
        # Hourly: a client's day is written in the first hour after its own midnight,
        # whatever its time zone; the other runs of the day find it written.
        periodic(HISTORY_JOB, period_of=every_minutes(lambda: 60), work=history_job)
