from django.apps import AppConfig


class AnswersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "answers"
    verbose_name = "Client answers"

    def ready(self) -> None:
        from answers.presentation import follow_up_answer_url, on_present
        from recommendations.events import subscribe
        from recommendations.lifecycle import Action
        from recommendations.mail import provide_answer_url

        # First among the subscribers: the e-mail is queued before any webhook.
        subscribe(on_present, actions=[Action.PRESENT], order=10)
        # The answer button of the follow-up notices: a sealed link to answer them all.
        provide_answer_url(follow_up_answer_url)
