from django.apps import AppConfig


class FollowupConfig(AppConfig):
    name = "followup"

    def ready(self) -> None:
        # Registers the webhook delivery handler with the outbox worker.
        from followup import webhooks  # noqa: F401
