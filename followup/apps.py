from django.apps import AppConfig


class FollowupConfig(AppConfig):
    name = "followup"

    def ready(self) -> None:
        # Registers the webhook and PSA delivery handlers with the outbox worker.
        from followup import webhooks  # noqa: F401
        from followup.psa import outbox  # noqa: F401
        from followup.subscribers import (
            note_decision_on_ticket,
            note_decisions_on_tickets,
            publish_webhooks,
            publish_webhooks_many,
            ticket_on_verification,
        )
        from recommendations.events import subscribe
        from recommendations.lifecycle import DECISION_ACTIONS, Action

        # After the presentation e-mail (order 10, answers), before ticket notes.
        subscribe(publish_webhooks, order=20, many=publish_webhooks_many)
        subscribe(
            note_decision_on_ticket,
            actions=DECISION_ACTIONS.values(),
            order=30,
            many=note_decisions_on_tickets,
        )
        subscribe(ticket_on_verification, actions=[Action.MARK_VERIFIED, Action.DRIFT], order=30)
