"""Every public service, called as every role: who may, who is refused, and that a
refusal stores nothing.

The list of services is found by introspection (every public function of every
``<app>.services`` module, and of the modules that still hold services under another
name), so a new service fails ``test_every_service_has_an_entry_in_the_matrix`` until
it says which roles may call it — or why no role applies.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings

from accounts.choices import Role
from accounts.models import User
from accounts.permissions import Capability, Msg, allows, refusal, require
from lib.errors import NotAllowed, ServiceError

# Services that live outside a ``services`` module or package: the answers app's
# presentation, the lifecycle's ``present`` subscriber (it issues the answer links).
# A module added here is introspected too.
MODULES_ELSEWHERE: tuple[str, ...] = ("answers.presentation", "tracker.previews")


def _service_modules() -> list[ModuleType]:
    found = []
    for app in apps.get_app_configs():
        if not app.path.startswith(str(settings.BASE_DIR)):
            continue  # Django's and third-party apps
        try:
            module = importlib.import_module(f"{app.name}.services")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app.name}.services":
                raise
            continue
        found.append(module)
        if hasattr(module, "__path__"):  # a package: every submodule counts
            for info in pkgutil.walk_packages(module.__path__, prefix=f"{module.__name__}."):
                found.append(importlib.import_module(info.name))
    found.extend(importlib.import_module(name) for name in MODULES_ELSEWHERE)
    return found


def discovered_services() -> dict[str, Callable[..., Any]]:
    """``"<module>.<function>"`` for every public function defined in a service module."""
    services: dict[str, Callable[..., Any]] = {}
    for module in _service_modules():
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__ and not name.startswith("_"):
                services[f"{module.__name__}.{name}"] = function
    return services


# --- the expected matrix ---------------------------------------------------------

ADMIN, MANAGER, TECHNICIAN, AUDITOR = (
    Role.ADMIN,
    Role.ACCOUNT_MANAGER,
    Role.TECHNICIAN,
    Role.AUDITOR,
)
ROLES = (ADMIN, MANAGER, TECHNICIAN, AUDITOR)
WRITERS = frozenset({ADMIN, MANAGER, TECHNICIAN})
CLIENT_MANAGERS = frozenset({ADMIN, MANAGER})
ADMINS = frozenset({ADMIN})


@dataclass(frozen=True)
class Roles:
    """A service a staff member calls: the roles allowed, the message the others get,
    and how to build a valid call (``scene(world, actor) -> kwargs``) that succeeds
    for an allowed role."""

    allowed: frozenset[Role]
    message: str
    scene: Callable[[dict[str, Any], User], dict[str, Any]]


@dataclass(frozen=True)
class NoRole:
    """A function no staff role reaches: why."""

    why: str


PURE = NoRole("a pure helper: it computes, it writes nothing")
INTERNAL = NoRole("called inside another service's transaction, which checked the role")
SYSTEM = NoRole("run by the worker, a subscriber or the command line, not by a staff member")
SELF = NoRole("a signed-in user's own preference, set for themselves")
CONTACT = NoRole("acted by a client contact (signed link, portal, e-mail): no staff role")


def _later(world: dict[str, Any], days: int) -> dt.date:
    return (world["now"] + dt.timedelta(days=days)).date()


def _draft(world: dict[str, Any]) -> Any:
    """A fresh draft (the ``draft`` fixture is the one ``presented`` presented)."""
    from recommendations.services import recommendation_create

    return recommendation_create(
        client=world["client_a"],
        template_version=world["template_mfa"],
        actor=world["admin"],
        now=world["now"],
    )


def _accepted(world: dict[str, Any], planned_in: int = 30) -> Any:
    from recommendations.services import response_record

    response_record(
        recommendation=world["presented"],
        decision="accepted",
        channel="phone",
        now=world["now"],
        recorded_by=world["admin"],
        responder=world["contact_a"],
        planned_for=_later(world, planned_in),
    )
    world["presented"].refresh_from_db()
    return world["presented"]


def _verified(world: dict[str, Any]) -> Any:
    from recommendations.services import recommendation_mark_verified

    return recommendation_mark_verified(
        recommendation=_accepted(world), actor=world["admin"], now=world["now"]
    )


def _deferred_and_due(world: dict[str, Any]) -> Any:
    from recommendations.services import response_record

    response_record(
        recommendation=world["presented"],
        decision="deferred",
        channel="phone",
        now=world["now"],
        recorded_by=world["admin"],
        responder=world["contact_a"],
        deferred_until=_later(world, 10),
        justification="Budget next quarter.",
    )
    world["now"] += dt.timedelta(days=20)
    world["presented"].refresh_from_db()
    return world["presented"]


def _ticket(world: dict[str, Any]) -> Any:
    from followup.services.tickets import ticket_open_or_update

    ticket, _ = ticket_open_or_update(
        recommendation=world["presented"], actor="followup", now=world["now"], note="Chase."
    )
    return ticket


def _ticket_request(world: dict[str, Any]) -> Any:
    from followup.services.tickets import TicketRequest

    return TicketRequest(recommendation=world["presented"], note="Called Bob.")


def _colleague(world: dict[str, Any]) -> User:
    return User.objects.create(username="colleague", role=Role.TECHNICIAN)


def _invited(world: dict[str, Any]) -> User:
    user = User(username="invited", email="invited@msp.example", role=Role.TECHNICIAN)
    user.set_unusable_password()
    user.save()
    return user


def _assigned_colleague(world: dict[str, Any]) -> User:
    user = _colleague(world)
    world["client_a"].staff.add(user)
    return user


def _endpoint(world: dict[str, Any]) -> Any:
    from followup.services.webhooks import webhook_endpoint_create

    return webhook_endpoint_create(
        name="SIEM",
        url="https://siem.example/heeded",
        kind="standard",
        now=world["now"],
        actor="cli",
    )


def _inbound(world: dict[str, Any]) -> Any:
    from answers.choices import Outcome
    from answers.models import InboundMessage
    from lib import crypto

    return InboundMessage.objects.create(
        received_at=world["now"],
        raw_encrypted=crypto.encrypt(b"x"),
        raw_sha256="0" * 64,
        client=world["client_a"],
        outcome=Outcome.UNVERIFIED,
        reason="not authenticated",
    )


def _period(value: str) -> Any:
    from reports.periods import parse_period

    return parse_period(value)


def _device(world: dict[str, Any]) -> Any:
    from verification.models import Device

    return Device.objects.create(
        client=world["client_a"],
        machine_guid="3f2c8a9e-1b7d-4e52-9a6f-0c4d2e8b7a15",
        computer_name="RECEPTION-PC",
        first_seen=world["now"],
        last_seen=world["now"],
    )


def _review_item(world: dict[str, Any]) -> Any:
    from verification.models import ReviewItem

    return ReviewItem.objects.create(
        client=world["client_a"],
        machine_guid="3f2c8a9e-1b7d-4e52-9a6f-0c4d2e8b7a15",
        computer_name="RECEPTION-PC",
        reason="other_client",
        detail="Claimed by another client.",
        document={},
        received_at=world["now"],
    )


def _enrollment_token(world: dict[str, Any]) -> Any:
    from verification.services import enrollment_token_create

    token, _ = enrollment_token_create(
        client=world["client_a"], name="NinjaOne", actor="tests", now=world["now"]
    )
    return token


def _meeting(world: dict[str, Any], actor: User) -> dict[str, Any]:
    from answers.services.meetings import MeetingDecision

    decision = MeetingDecision(
        recommendation=world["presented"],
        decision="accepted",
        responder_name="Alice Rossi",
        planned_for=_later(world, 30),
    )
    return {
        "client": world["client_a"],
        "channel": "phone",
        "held_on": world["now"].date(),
        "attendees": "Alice Rossi",
        "decisions": [decision],
        "recorded_by": actor,
        "now": world["now"],
    }


def _backup_template(world: dict[str, Any]) -> Any:
    """A template client A has no recommendation from yet."""
    from catalog.services import template_create

    return template_create(
        key="offsite-backup",
        title="Keep an immutable off-site backup",
        body="Copy nightly backups to immutable off-site storage.",
        category="backup",
        default_severity="high",
        now=world["now"],
        actor=world["admin"],
    )


def _staff(allowed: frozenset[Role], message: str, scene: Callable) -> Roles:
    return Roles(allowed=allowed, message=message, scene=scene)


def _write(scene: Callable) -> Roles:
    return _staff(WRITERS, Msg.READ_ONLY, scene)


def _transition(prepare: Callable[[dict[str, Any]], Any], **extra: Any) -> Roles:
    return _write(
        lambda w, actor: {
            "recommendation": prepare(w),
            "actor": actor,
            "now": w["now"],
            **extra,
        }
    )


MATRIX: dict[str, Roles | NoRole] = {
    # recommendations: every transition and the creation need a writer
    "recommendations.services.recommendation_create": _write(
        lambda w, actor: {
            "client": w["client_a"],
            "template_version": w["template_mfa"],
            "actor": actor,
            "now": w["now"],
        }
    ),
    "recommendations.services.recommendation_present": _transition(_draft),
    "recommendations.services.response_record": _write(
        lambda w, actor: {
            "recommendation": w["presented"],
            "decision": "accepted",
            "channel": "phone",
            "now": w["now"],
            "recorded_by": actor,
            "responder": w["contact_a"],
            "planned_for": _later(w, 30),
        }
    ),
    "recommendations.services.recommendation_start_work": _transition(_accepted),
    "recommendations.services.recommendation_mark_implemented": _transition(_accepted),
    "recommendations.services.recommendation_mark_verified": _transition(_accepted),
    "recommendations.services.recommendation_drift": _transition(_verified, reason="EDR gone."),
    "recommendations.services.recommendation_withdraw": _transition(_draft, reason="Superseded."),
    # The worker's actions default to the "followup" actor; staff may trigger them too.
    "recommendations.services.recommendation_expire_deferral": _transition(_deferred_and_due),
    "recommendations.services.recommendation_expire_planned_date": _write(
        lambda w, actor: {
            "recommendation": _accepted(w, planned_in=5),
            "actor": actor,
            "now": w["now"] + dt.timedelta(days=10),
        }
    ),
    "recommendations.services.recommendation_mark_ignored": _transition(lambda w: w["presented"]),
    # editing a draft and reassigning: any writer, like the transitions
    "recommendations.services.recommendation_edit": _transition(_draft, title="Require MFA now"),
    "recommendations.services.recommendation_set_owner": _transition(
        lambda w: w["presented"], owner=None
    ),
    "recommendations.services.recommendation_set_contact": _transition(
        lambda w: w["presented"], contact=None
    ),
    "recommendations.services.recommendations_apply_template": _write(
        lambda w, actor: {
            "template_version": _backup_template(w),
            "clients": [w["client_a"]],
            "actor": actor,
            "now": w["now"],
        }
    ),
    # accounts: a staff account sees client data; only an admin adds or disables one
    "accounts.services.user_create": _staff(
        ADMINS,
        Msg.USERS_ADMIN_ONLY,
        lambda w, actor: {
            "username": "new.tech",
            "email": "new.tech@msp.example",
            "role": "technician",
            "actor": actor,
            "now": w["now"],
        },
    ),
    "accounts.services.user_deactivate": _staff(
        ADMINS,
        Msg.USERS_ADMIN_ONLY,
        lambda w, actor: {"user": _colleague(w), "actor": actor, "now": w["now"]},
    ),
    "accounts.services.user_language_set": SELF,
    "accounts.services.user_role_set": _staff(
        ADMINS,
        Msg.USERS_ADMIN_ONLY,
        lambda w, actor: {
            "user": _colleague(w),
            "role": "account_manager",
            "actor": actor,
            "now": w["now"],
        },
    ),
    "accounts.services.user_reactivate": _staff(
        ADMINS,
        Msg.USERS_ADMIN_ONLY,
        lambda w, actor: {"user": _colleague(w), "actor": actor, "now": w["now"]},
    ),
    "accounts.services.password_link_token": PURE,
    "accounts.services.password_link_user": PURE,
    "accounts.services.user_password_set": NoRole(
        "acted by the invited person through a single-use set-password link: no role yet"
    ),
    # Staff invitations: an account and its e-mail, so admins only, like user_create.
    "followup.services.invitations.staff_invite": _staff(
        ADMINS,
        Msg.USERS_ADMIN_ONLY,
        lambda w, actor: {
            "email": "Nina.Ferri@msp.example",
            "role": "technician",
            "actor": actor,
            "now": w["now"],
        },
    ),
    "followup.services.invitations.staff_invite_resend": _staff(
        ADMINS,
        Msg.USERS_ADMIN_ONLY,
        lambda w, actor: {"user": _invited(w), "actor": actor, "now": w["now"]},
    ),
    "followup.services.invitations.invitation_link": PURE,
    # A client's settings and assigned staff: admins and account managers.
    "clients.services.client_update": _staff(
        CLIENT_MANAGERS,
        Msg.CLIENT_SETTINGS_ONLY,
        lambda w, actor: {
            "client": w["client_a"],
            "name": "Acme Dental Società",
            "domains": ["acme-dental.example", "acmedental.example"],
            "actor": actor,
            "now": w["now"],
        },
    ),
    "clients.services.client_staff_assign": _staff(
        CLIENT_MANAGERS,
        Msg.CLIENT_SETTINGS_ONLY,
        lambda w, actor: {
            "client": w["client_a"],
            "user": _colleague(w),
            "actor": actor,
            "now": w["now"],
        },
    ),
    "clients.services.client_staff_unassign": _staff(
        CLIENT_MANAGERS,
        Msg.CLIENT_SETTINGS_ONLY,
        lambda w, actor: {
            "client": w["client_a"],
            "user": _assigned_colleague(w),
            "actor": actor,
            "now": w["now"],
        },
    ),
    # Contacts are any writer's, like contact_create: technicians meet them.
    "clients.services.contact_update": _write(
        lambda w, actor: {
            "contact": w["contact_a"],
            "job_title": "Titolare",
            "language": "it",
            "actor": actor,
            "now": w["now"],
        }
    ),
    "clients.services.contact_deactivate": _write(
        lambda w, actor: {"contact": w["contact_a"], "actor": actor, "now": w["now"]}
    ),
    # clients: adding a client is for those who see every client
    "clients.services.client_create": _staff(
        CLIENT_MANAGERS,
        Msg.CLIENT_MANAGERS_ONLY,
        lambda w, actor: {"name": "Charlie Clinic", "actor": actor, "now": w["now"]},
    ),
    "clients.services.contact_create": _write(
        lambda w, actor: {
            "client": w["client_a"],
            "name": "Carla Verdi",
            "email": "carla@acme-dental.example",
            "actor": actor,
            "now": w["now"],
        }
    ),
    "clients.services.clean_domains": PURE,
    # catalog: admins and account managers
    "catalog.services.template_create": _staff(
        CLIENT_MANAGERS,
        Msg.CATALOG_MANAGERS_ONLY,
        lambda w, actor: {
            "key": "offsite-backups",
            "title": "Keep an offsite backup",
            "body": "Copy backups off site every night.",
            "category": w["template_mfa"].template.category,
            "default_severity": "high",
            "now": w["now"],
            "actor": actor,
        },
    ),
    "catalog.services.template_revise": _staff(
        CLIENT_MANAGERS,
        Msg.CATALOG_MANAGERS_ONLY,
        lambda w, actor: {
            "template": w["template_mfa"].template,
            "title": "Require MFA everywhere",
            "body": "Enforce MFA on every remote access path.",
            "now": w["now"],
            "actor": actor,
        },
    ),
    "catalog.services.clean_control_refs": PURE,
    "catalog.services.clean_tags": PURE,
    # follow-up
    "followup.services.policy.client_policy_set": _staff(
        ADMINS,
        Msg.POLICY_ADMIN_ONLY,
        lambda w, actor: {"client": w["client_a"], "actor": actor, "now": w["now"], "tier": "Gold"},
    ),
    "followup.services.outbox.outbox_enqueue": INTERNAL,
    "followup.services.outbox.outbox_enqueue_email": INTERNAL,
    "followup.services.outbox.message_id_for": PURE,
    "followup.services.tickets.ticket_open_or_update": _write(
        lambda w, actor: {
            "recommendation": w["presented"],
            "actor": actor,
            "now": w["now"],
            "note": "Called Alice.",
        }
    ),
    "followup.services.tickets.tickets_open_or_update_many": _write(
        lambda w, actor: {
            "requests": [_ticket_request(w)],
            "actor": actor,
            "now": w["now"],
        }
    ),
    "followup.services.tickets.ticket_note_add": _write(
        lambda w, actor: {"ticket": _ticket(w), "actor": actor, "text": "Rang.", "now": w["now"]}
    ),
    "followup.services.tickets.ticket_assign": _write(
        lambda w, actor: {"ticket": _ticket(w), "assignee": None, "actor": actor, "now": w["now"]}
    ),
    "followup.services.tickets.ticket_close": _write(
        lambda w, actor: {"ticket": _ticket(w), "actor": actor, "now": w["now"], "reason": "Done."}
    ),
    "followup.services.tickets.ticket_on_response": INTERNAL,
    "followup.services.webhooks.webhook_endpoint_create": _staff(
        ADMINS,
        Msg.WEBHOOK_ADMIN_ONLY,
        lambda w, actor: {
            "name": "SIEM",
            "url": "https://siem.example/heeded",
            "kind": "standard",
            "now": w["now"],
            "actor": actor,
        },
    ),
    "followup.services.webhooks.webhook_endpoint_disable": _staff(
        ADMINS,
        Msg.WEBHOOK_ADMIN_ONLY,
        lambda w, actor: {"pk": _endpoint(w).pk, "actor": actor},
    ),
    "followup.services.webhooks.webhook_publish": INTERNAL,
    # The view authenticated the PSA's signature; no staff member is involved.
    "followup.services.callbacks.psa_callback_record": SYSTEM,
    # ledger: appended to by the services above, in their transaction
    "ledger.services.event_append": INTERNAL,
    "ledger.services.event_append_many": INTERNAL,
    "ledger.services.anchor_record": INTERNAL,
    # answers
    "answers.services.authority.authority_set": _write(
        lambda w, actor: {
            "client": w["client_a"],
            "contact": w["contact_a"],
            "severities": ["critical"],
            "actor": actor,
            "now": w["now"],
        }
    ),
    "answers.services.authority.authority_replace": _write(
        lambda w, actor: {
            "client": w["client_a"],
            "rules": None,
            "dual_approval_reject_critical": True,
            "actor": actor,
            "now": w["now"],
        }
    ),
    "answers.services.links.recommendations_present": _write(
        lambda w, actor: {"recommendations": [_draft(w)], "actor": actor, "now": w["now"]}
    ),
    "answers.services.links.recommendations_present_per_client": _write(
        lambda w, actor: {"recommendations": [_draft(w)], "actor": actor, "now": w["now"]}
    ),
    "answers.services.meetings.meeting_record": _write(_meeting),
    "answers.services.staff.staff_answer_record": _write(
        lambda w, actor: {
            "recommendation": w["presented"],
            "decision": "accepted",
            "channel": "phone",
            "now": w["now"],
            "recorded_by": actor,
            "responder": w["contact_a"],
            "planned_for": _later(w, 30),
        }
    ),
    "answers.services.inbound.inbound_review": _write(
        lambda w, actor: {
            "message": _inbound(w),
            "actor": actor,
            "note": "Spoofed.",
            "now": w["now"],
        }
    ),
    # verification: staff manage enrollment tokens and device tags; reports come from
    # the collector (a token, no staff role)
    "verification.services.enrollment_token_create": _write(
        lambda w, actor: {
            "client": w["client_a"],
            "name": "Datto RMM",
            "actor": actor,
            "now": w["now"],
        }
    ),
    "verification.services.enrollment_token_revoke": _write(
        lambda w, actor: {"token": _enrollment_token(w), "actor": actor, "now": w["now"]}
    ),
    "verification.services.device_tags_set": _write(
        lambda w, actor: {"device": _device(w), "tags": ["server"], "actor": actor, "now": w["now"]}
    ),
    "verification.services.review_item_resolve": _write(
        lambda w, actor: {
            "item": _review_item(w),
            "note": "Cloned image, re-imaged.",
            "actor": actor,
            "now": w["now"],
        }
    ),
    "verification.services.inventory_record": SYSTEM,
    "verification.services.inventory_from_document": PURE,
    "verification.services.file_device_guid": PURE,
    "verification.services.token_digest": PURE,
    "verification.services.report_body": PURE,
    # Signed by a client's enrollment token (checked inside), never a staff member.
    "verification.services.collector_report_receive": SYSTEM,
    "verification.services.device_score_history_take": SYSTEM,
    # reports: delivering a report records an anchor (a write); snapshots are the
    # worker's or cron's
    "reports.services.report_deliver": _write(
        lambda w, actor: {
            "client": w["client_a"],
            "period": _period("2026-02"),
            "fmt": "html",
            "now": w["now"],
            "actor": actor,
            "channel": "web",
        }
    ),
    "reports.services.compliance_snapshot_take": SYSTEM,
    "reports.services.compliance_history_backfill": SYSTEM,
    "reports.services.report_schedule_set": _write(
        lambda w, actor: {
            "client": w["client_a"],
            "monthly": True,
            "quarterly": False,
            "open_risks": True,
            "contact_ids": [w["contact_a"].pk],
            "to_account_owner": True,
            "actor": actor,
            "now": w["now"],
        }
    ),
    "reports.services.evidence_pack_export": _write(
        lambda w, actor: {"client": w["client_a"], "actor": actor, "now": w["now"]}
    ),
    # The worker's job and the outbox's attachment resolver; no staff member calls them.
    "reports.services.scheduled_reports_deliver": SYSTEM,
    "reports.services.delivered_report_attachment": SYSTEM,
    "reports.services.schedule_key": PURE,
    "answers.services.submissions.answer_submit": CONTACT,
    "answers.services.recording.confirm_answer": CONTACT,
    "answers.services.links.link_renew": CONTACT,
    # Logs a request to an answer link, whoever sent it: the view's bookkeeping.
    "answers.services.links.link_attempt_record": CONTACT,
    "answers.services.portal.portal_code_request": CONTACT,
    "answers.services.portal.portal_sign_in": CONTACT,
    "answers.services.evidence.evidence_rotate": SYSTEM,
    "followup.services.webhooks.webhook_secrets_rotate": SYSTEM,
    "answers.services.submissions.consent_statement": PURE,
    "answers.services.authority.contact_may_decide": PURE,
    "answers.services.authority.authorised_contacts": PURE,
    "answers.services.authority.needs_dual_approval": PURE,
    "answers.services.authority.authority_limited": PURE,
    # The rules every client channel shares, run inside the channel's own transaction.
    "answers.services.recording.check_item": PURE,
    "answers.services.recording.check_text": PURE,
    "answers.services.recording.answer_record": INTERNAL,
    # E-mail in: the mail-in and mail-poll commands; the headers' helpers compute.
    "answers.services.inbound.inbound_receive": SYSTEM,
    "answers.services.inbound.reply_token": PURE,
    "answers.services.inbound.message_id_of": PURE,
    # Presenting: the subscriber of ``present`` and what it calls, in its transaction.
    "answers.presentation.on_present": SYSTEM,
    "answers.presentation.present_to": INTERNAL,
    "answers.presentation.link_issue": INTERNAL,
    "answers.presentation.links_issue": INTERNAL,
    "answers.presentation.present_to_each": INTERNAL,
    "answers.presentation.collecting_batch": INTERNAL,
    "answers.presentation.follow_up_answer_url": INTERNAL,
    "answers.presentation.token_sha256": PURE,
    "answers.presentation.link_url": PURE,
    "answers.presentation.link_url_sealed": PURE,
    "answers.presentation.reply_address": PURE,
    # tracker
    "tracker.services.tracker_import": _write(
        lambda w, actor: {
            "source": b"Client,Recommendation,Date made\r\nAcme Dental,Patch VPN,2026-02-02\r\n",
            "filename": "tracker.csv",
            "actor": actor,
            "now": w["now"],
        }
    ),
    "tracker.services.sheet_state": PURE,
    "tracker.services.sheet_layout": PURE,
    # The tracker preview: asked for on the upload page, run in the request or the worker.
    "tracker.previews.preview_queue": _write(
        lambda w, actor: {
            "owner": actor,
            "data": b"Client,Recommendation,Date made\r\nAcme Dental,Patch VPN,2026-02-02\r\n",
            "filename": "tracker.csv",
            "now": w["now"],
            "token": "d" * 64,
            "worker": "roles",
        }
    ),
    "tracker.previews.preview_take": SYSTEM,
    "tracker.previews.previews_forget": INTERNAL,
    "tracker.previews.preview_list_for": PURE,
    "tracker.previews.preview_figures": PURE,
    "tracker.previews.report_json": PURE,
    "tracker.previews.report_from_json": PURE,
    "tracker.previews.upload_path": INTERNAL,
    "tracker.previews.store_upload": INTERNAL,
    "tracker.previews.read_upload": PURE,
    "tracker.previews.progress_path": PURE,
}

ROLE_CHECKED = sorted(name for name, entry in MATRIX.items() if isinstance(entry, Roles))


# --- the tests -------------------------------------------------------------------


def test_every_service_has_an_entry_in_the_matrix():
    found = set(discovered_services())
    assert sorted(found - set(MATRIX)) == [], "say which roles may call these services"
    assert sorted(set(MATRIX) - found) == [], "these entries name no service any more"


def test_every_module_of_a_services_package_is_introspected():
    # A services package's submodules are found by walking it: none may be missed.
    introspected = {module.__name__ for module in _service_modules()}
    for app in apps.get_app_configs():
        package = Path(app.path) / "services"
        if app.path.startswith(str(settings.BASE_DIR)) and package.is_dir():
            modules = {f"{app.name}.services.{p.stem}" for p in package.glob("*.py")}
            modules = {m.removesuffix(".__init__") for m in modules}
            assert sorted(modules - introspected) == [], app.name


def test_every_service_that_takes_a_staff_actor_is_role_checked():
    # A function in NoRole that takes a staff member would escape the matrix.
    for name, function in discovered_services().items():
        params = inspect.signature(function).parameters
        if {"actor", "recorded_by"} & set(params) and isinstance(MATRIX[name], NoRole):
            assert MATRIX[name] in (INTERNAL, SYSTEM), name


def _snapshot() -> dict[str, list[tuple]]:
    """Every row of every table, to prove a refusal changed nothing at all."""
    return {
        model._meta.label: list(model._default_manager.order_by("pk").values_list())
        for model in apps.get_models()
    }


@pytest.fixture
def world(
    admin, manager, technician, auditor, client_a, contact_a, template_mfa, draft, presented, now
):
    return {
        "admin": admin,
        "client_a": client_a,
        "contact_a": contact_a,
        "template_mfa": template_mfa,
        "presented": presented,
        "now": now,
        "actors": {ADMIN: admin, MANAGER: manager, TECHNICIAN: technician, AUDITOR: auditor},
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", ROLE_CHECKED)
def test_each_role_may_call_exactly_its_services(name, role, world):
    entry = MATRIX[name]
    assert isinstance(entry, Roles)
    function = discovered_services()[name]
    actor = world["actors"][role]
    kwargs = entry.scene(world, actor)
    if role in entry.allowed:
        try:
            function(**kwargs)
        except NotAllowed as exc:  # pragma: no cover - the failure message
            pytest.fail(f"{role} was refused {name}: {exc.message}")
        return
    before = _snapshot()
    with pytest.raises(NotAllowed) as refused:
        function(**kwargs)
    # A read-only account is told so, whatever it tried.
    assert refused.value.message == (Msg.READ_ONLY if role == AUDITOR else entry.message)
    assert refused.value.code == "permission_denied" and refused.value.http_status == 403
    assert _snapshot() == before


def test_the_matrix_follows_the_one_table():
    assert frozenset(r for r in ROLES if allows(_user_with(r), Capability.WRITE)) == WRITERS


def _user_with(role: Role, **extra: Any) -> User:
    return User(username=f"u-{role}", role=role, **extra)


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        (_user_with(Role.TECHNICIAN, is_superuser=True), None),
        (_user_with(Role.ADMIN, is_active=False), Msg.READ_ONLY),
        (_user_with(Role.AUDITOR), Msg.READ_ONLY),
        (_user_with(Role.TECHNICIAN), Msg.CATALOG_MANAGERS_ONLY),
        (_user_with(Role.ACCOUNT_MANAGER), None),
        ("followup", None),
        (None, None),
    ],
    ids=[
        "superuser-acts-as-admin",
        "disabled-admin",
        "auditor",
        "technician",
        "account-manager",
        "system",
        "seed",
    ],
)
def test_who_may_change_the_catalog(actor, expected):
    assert refusal(actor, Capability.MANAGE_CATALOG) == expected


def test_an_anonymous_user_is_never_taken_for_the_system():
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotAllowed, match=r"^This account may read but not change anything\.$"):
        require(AnonymousUser(), Capability.WRITE)


def test_a_refused_role_is_a_service_error_and_a_permission_denied():
    from django.core.exceptions import PermissionDenied

    assert issubclass(NotAllowed, ServiceError) and issubclass(NotAllowed, PermissionDenied)
