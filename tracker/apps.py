from django.apps import AppConfig


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = "Spreadsheet tracker"

    def ready(self) -> None:
        from followup.jobs import queued
        from tracker.previews import PREVIEW_JOB, preview_take

        # A large sheet's preview runs in the worker while the page shows its progress.
        queued(PREVIEW_JOB, take=preview_take)
