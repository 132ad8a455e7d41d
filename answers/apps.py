from django.apps import AppConfig


class AnswersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "answers"
    verbose_name = "Client answers"

    def ready(self) -> None:
        from answers.presentation import on_present
        from recommendations.events import subscribe
        from recommendations.lifecycle import Action

        # First among the subscribers: the e-mail is queued before any webhook.
        subscribe(on_present, actions=[Action.PRESENT], order=10)
