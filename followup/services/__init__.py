"""Every write of the follow-up app, one module per entity: the outbox, client
policies, tickets (through ``followup.ticket_lifecycle``), webhook endpoints and their
publishing, PSA callbacks, staff invitations (an account and its e-mail). The delivery
worker's own claim-and-record unit of work stays in ``followup.delivery``.

Callers may import from here or from the submodule; modules inside the follow-up app
import the submodule, so the package can load in any order.
"""

from followup.services.callbacks import psa_callback_record
from followup.services.invitations import invitation_link, staff_invite, staff_invite_resend
from followup.services.outbox import message_id_for, outbox_enqueue, outbox_enqueue_email
from followup.services.policy import POLICY_FIELDS, client_policy_set
from followup.services.tickets import (
    ticket_assign,
    ticket_close,
    ticket_note_add,
    ticket_on_response,
    ticket_open_or_update,
)
from followup.services.webhooks import (
    webhook_endpoint_create,
    webhook_endpoint_disable,
    webhook_publish,
)

__all__ = [
    "POLICY_FIELDS",
    "client_policy_set",
    "invitation_link",
    "message_id_for",
    "outbox_enqueue",
    "outbox_enqueue_email",
    "psa_callback_record",
    "staff_invite",
    "staff_invite_resend",
    "ticket_assign",
    "ticket_close",
    "ticket_note_add",
    "ticket_on_response",
    "ticket_open_or_update",
    "webhook_endpoint_create",
    "webhook_endpoint_disable",
    "webhook_publish",
]
