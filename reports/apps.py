from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self) -> None:
        from followup.delivery import attachment_source
        from followup.jobs import every_minutes, periodic
        from reports.jobs import SCHEDULE_JOB, SNAPSHOT_JOB, schedule_job, snapshot_job
        from reports.services import REPORT_ATTACHMENT, delivered_report_attachment

        # Hourly: each client's row of its own (local) day is rewritten through the day,
        # so the row a day keeps is its state in its last hour, whatever the time zone.
        periodic(SNAPSHOT_JOB, period_of=every_minutes(lambda: 60), work=snapshot_job)
        # Hourly too: a report is due from the client's local midnight on the 1st.
        periodic(SCHEDULE_JOB, period_of=every_minutes(lambda: 60), work=schedule_job)
        attachment_source(REPORT_ATTACHMENT)(delivered_report_attachment)
