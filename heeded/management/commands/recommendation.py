"""``heeded recommendation``: drive the lifecycle from the command line.

Every subcommand calls the same service the UI and the API call, as the staff user
named by ``--as``. A refused change prints the lifecycle's message and exits 1;
bad arguments exit 2. Nothing changes on a refusal.

It lives in the project layer, not in ``recommendations``, because ``respond`` goes
through ``answers.services.staff.staff_answer_record`` (the client's authority rules), and
the lifecycle may not import a capability.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from answers.models import Proposal
from answers.services.staff import staff_answer_record
from clients.selectors import contact_get_for
from lib.errors import ServiceError
from recommendations import services
from recommendations.choices import STAFF_CHANNELS, Decision
from recommendations.lifecycle import allowed_actions
from recommendations.selectors import recommendation_get_for

EXIT_REFUSED = 1
EXIT_USAGE = 2


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"{value!r} is not a date; use YYYY-MM-DD", returncode=EXIT_USAGE
        ) from None


class Command(BaseCommand):
    help = "Show a recommendation or move it through its lifecycle."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as", dest="username", required=True, help="Staff user who acts.")
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        show = sub.add_parser("show", help="Print status, dates and the allowed actions.")
        show.add_argument("id")

        present = sub.add_parser("present", help="Present a draft to the client's decision makers.")
        present.add_argument("id")

        respond = sub.add_parser(
            "respond", help="Record a decision taken by phone or in a meeting."
        )
        respond.add_argument("id")
        respond.add_argument("decision", choices=Decision.values)
        respond.add_argument("--channel", choices=sorted(STAFF_CHANNELS), default="phone")
        respond.add_argument("--contact", help="Id of the client contact who decided.")
        respond.add_argument("--name", default="", help="Who decided, if not a known contact.")
        respond.add_argument("--justification", default="")
        respond.add_argument("--planned", type=_date, help="Planned implementation date.")
        respond.add_argument("--until", type=_date, help="Date the item is deferred to.")
        respond.add_argument("--attendees", default="", help="Meeting attendees.")

        for name, text in (
            ("start-work", "Start implementing an accepted recommendation."),
            ("implemented", "Mark the recommendation implemented."),
            ("verified", "Mark the recommendation verified by evidence."),
        ):
            action = sub.add_parser(name, help=text)
            action.add_argument("id")
            action.add_argument("--note", default="")
            if name != "start-work":
                action.add_argument("--evidence", default="", help="Evidence reference.")

        withdraw = sub.add_parser("withdraw", help="Withdraw the recommendation, with a reason.")
        withdraw.add_argument("id")
        withdraw.add_argument("--reason", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(username=options["username"], is_active=True)
        except User.DoesNotExist:
            raise CommandError(
                f"no active staff user {options['username']!r}", returncode=EXIT_USAGE
            ) from None
        try:
            rec = recommendation_get_for(user, options["id"])
        except Http404:
            raise CommandError(
                f"no recommendation {options['id']!r} visible to {user.username}",
                returncode=EXIT_USAGE,
            ) from None
        now = timezone.now()
        try:
            message = self._act(options, user=user, rec=rec, now=now)
        except ServiceError as exc:
            where = f" ({exc.field})" if exc.field else ""
            raise CommandError(f"refused{where}: {exc.message}", returncode=EXIT_REFUSED) from None
        except ValidationError as exc:
            raise CommandError(
                f"refused: {'; '.join(exc.messages)}", returncode=EXIT_REFUSED
            ) from None
        except PermissionDenied as exc:
            raise CommandError(f"refused: {exc}", returncode=EXIT_REFUSED) from None
        self.stdout.write(message)

    def _act(self, options: dict[str, Any], *, user: User, rec, now: dt.datetime) -> str:
        action = options["action"]
        if action == "show":
            allowed = ", ".join(a.value for a in allowed_actions(rec.status)) or "none"
            return (
                f"#{rec.pk} {rec.title}\nclient: {rec.client.name}\nstatus: {rec.status}\n"
                f"severity: {rec.severity}\nnext action at: {rec.next_action_at or '-'}\n"
                f"text sha256: {rec.text_sha256}\nallowed: {allowed}"
            )
        if action == "present":
            rec = services.recommendation_present(recommendation=rec, actor=user, now=now)
        elif action == "respond":
            contact = None
            if options["contact"]:
                try:
                    contact = contact_get_for(user, options["contact"])
                except Http404:
                    raise CommandError(
                        f"no contact {options['contact']!r}", returncode=EXIT_USAGE
                    ) from None
            result = staff_answer_record(
                recommendation=rec,
                decision=options["decision"],
                channel=options["channel"],
                recorded_by=user,
                responder=contact,
                responder_name=options["name"],
                justification=options["justification"],
                planned_for=options["planned"],
                deferred_until=options["until"],
                attendees=options["attendees"],
                now=now,
            )
            rec.refresh_from_db()
            if isinstance(result, Proposal):
                return (
                    f"proposed: #{rec.pk} stays {rec.status}; {result.reason}. "
                    f"Sent to {', '.join(result.routed_to) or 'no one'} to confirm."
                )
        elif action == "start-work":
            rec = services.recommendation_start_work(
                recommendation=rec, actor=user, now=now, note=options["note"]
            )
        elif action == "implemented":
            rec = services.recommendation_mark_implemented(
                recommendation=rec,
                actor=user,
                now=now,
                note=options["note"],
                evidence_ref=options["evidence"],
            )
        elif action == "verified":
            rec = services.recommendation_mark_verified(
                recommendation=rec,
                actor=user,
                now=now,
                note=options["note"],
                evidence_ref=options["evidence"],
            )
        elif action == "withdraw":
            rec = services.recommendation_withdraw(
                recommendation=rec, actor=user, now=now, reason=options["reason"]
            )
        return f"ok: #{rec.pk} is now {rec.status}"
