from django.apps import AppConfig


class FollowupConfig(AppConfig):
    name = "followup"

    def ready(self) -> None:
        # Registers the webhook and PSA delivery handlers with the outbox worker.
        from followup import webhooks  # noqa: F401
        from followup.psa import outbox  # noqa: F401
