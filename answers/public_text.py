"""The words of the pages clients see (answer page, portal), in English and Italian.

A small table rather than gettext: two languages, a few dozen strings, and the e-mails
already speak the client's language from their own templates.
"""

from __future__ import annotations

from clients.models import Client

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "portal_title": "Security recommendations for",
        "waiting": "Waiting for your answer",
        "answer_by": "answer by",
        "nothing_waiting": "Nothing is waiting for an answer.",
        "history": "History",
        "no_decisions": "No decisions yet.",
        "decisions_evidence": "Decisions and evidence",
        "col_decision": "Decision",
        "col_by": "By",
        "col_channel": "Channel",
        "col_evidence": "Evidence",
        "col_when": "When",
        "text": "text",
        "attendees": "Attendees",
        "sign_out": "Sign out",
        "status_awaiting_response": "Awaiting your answer",
        "status_accepted": "Accepted",
        "status_in_progress": "In progress",
        "status_deferred": "Deferred",
        "status_rejected": "Rejected",
        "status_ignored": "No answer",
        "status_implemented": "Implemented",
        "status_verified": "Verified",
        "status_withdrawn": "Withdrawn",
        "channel_signed_link": "Signed link",
        "channel_portal": "Client portal",
        "channel_email": "Verified e-mail",
        "channel_meeting": "Meeting",
        "channel_phone": "Phone",
        "channel_staff": "Recorded by staff",
        "channel_import": "Imported",
        "title_one": "Security recommendation",
        "title_many": "security recommendations",
        "for": "for",
        "link_once": "this link works once and expires on",
        "your_decision": "Your decision",
        "accepted": "Accept",
        "deferred": "Defer",
        "rejected": "Reject",
        "planned_for": "Planned implementation date (if you accept)",
        "deferred_until": "Defer until (if you defer)",
        "justification": "Reason (needed to defer or reject)",
        "severity": "Severity",
        "severity_critical": "Critical",
        "severity_high": "High",
        "severity_medium": "Medium",
        "severity_low": "Low",
        "risk": "Risk if not done",
        "fingerprint": "Text fingerprint (SHA-256)",
        "sign": "Sign your answer",
        "full_name": "Your full name",
        "evidence_note": "We record your name, this statement, the time, your IP address and "
        "browser, and the fingerprint of the text above.",
        "send": "Send my answer",
        "thanks": "Thank you, your answer was recorded",
        "already": "This link has already been used",
        "confirmation_sent": "We e-mailed a confirmation to",
        "used_on": "It was used on",
        "once_only": "a link works only once.",
        "ledger_entry": "Ledger entry",
        "ledger_hash": "Ledger hash at that time",
        "by": "by",
        "on": "on",
        "planned": "planned for",
        "deferred_to": "deferred until",
        "proposal": "recorded as a proposal",
        "sent_to_confirm": "sent to confirm to",
        "expired_title": "This link has expired",
        "expired_valid": "It was valid until",
        "nothing_recorded": "Nothing was recorded.",
        "expired_offer": "We can send a new link to the address it was sent to.",
        "send_new": "Send me a new link",
        "invalid_title": "This link is not valid",
        "invalid_hint": "Check that you copied the whole link from the e-mail, or contact "
        "your IT provider.",
        "renewed_yes": "A new link is on its way",
        "renewed_no": "No new link sent",
        "renewed_yes_text": "Check the inbox this link was sent to.",
        "renewed_no_text": "A new link was already requested, or nothing is waiting for your "
        "answer. Contact your IT provider if you need help.",
    },
    "it": {
        "portal_title": "Raccomandazioni di sicurezza per",
        "waiting": "In attesa della vostra risposta",
        "answer_by": "rispondere entro il",
        "nothing_waiting": "Nulla attende una risposta.",
        "history": "Storico",
        "no_decisions": "Ancora nessuna decisione.",
        "decisions_evidence": "Decisioni ed evidenze",
        "col_decision": "Decisione",
        "col_by": "Da",
        "col_channel": "Canale",
        "col_evidence": "Evidenza",
        "col_when": "Quando",
        "text": "testo",
        "attendees": "Partecipanti",
        "sign_out": "Esci",
        "status_awaiting_response": "In attesa della vostra risposta",
        "status_accepted": "Accettata",
        "status_in_progress": "In corso",
        "status_deferred": "Rinviata",
        "status_rejected": "Rifiutata",
        "status_ignored": "Senza risposta",
        "status_implemented": "Attuata",
        "status_verified": "Verificata",
        "status_withdrawn": "Ritirata",
        "channel_signed_link": "Link firmato",
        "channel_portal": "Portale clienti",
        "channel_email": "E-mail verificata",
        "channel_meeting": "Riunione",
        "channel_phone": "Telefono",
        "channel_staff": "Registrata dal fornitore",
        "channel_import": "Importata",
        "title_one": "Raccomandazione di sicurezza",
        "title_many": "raccomandazioni di sicurezza",
        "for": "per",
        "link_once": "questo link funziona una sola volta e scade il",
        "your_decision": "La vostra decisione",
        "accepted": "Accetto",
        "deferred": "Rinvio",
        "rejected": "Rifiuto",
        "planned_for": "Data di attuazione prevista (se accettate)",
        "deferred_until": "Rinvio al (se rinviate)",
        "justification": "Motivo (necessario per rinviare o rifiutare)",
        "severity": "Gravità",
        "severity_critical": "Critica",
        "severity_high": "Alta",
        "severity_medium": "Media",
        "severity_low": "Bassa",
        "risk": "Rischio se non attuata",
        "fingerprint": "Impronta del testo (SHA-256)",
        "sign": "Firmate la risposta",
        "full_name": "Nome e cognome",
        "evidence_note": "Registriamo il vostro nome, questa dichiarazione, l'ora, il vostro "
        "indirizzo IP e browser, e l'impronta del testo qui sopra.",
        "send": "Invia la risposta",
        "thanks": "Grazie, la vostra risposta è stata registrata",
        "already": "Questo link è già stato usato",
        "confirmation_sent": "Abbiamo inviato una conferma a",
        "used_on": "È stato usato il",
        "once_only": "un link funziona una sola volta.",
        "ledger_entry": "Voce del registro",
        "ledger_hash": "Hash del registro in quel momento",
        "by": "da",
        "on": "il",
        "planned": "attuazione prevista il",
        "deferred_to": "rinviata al",
        "proposal": "registrata come proposta",
        "sent_to_confirm": "inviata per conferma a",
        "expired_title": "Questo link è scaduto",
        "expired_valid": "Era valido fino al",
        "nothing_recorded": "Non è stato registrato nulla.",
        "expired_offer": "Possiamo inviare un nuovo link all'indirizzo a cui era stato inviato.",
        "send_new": "Inviatemi un nuovo link",
        "invalid_title": "Questo link non è valido",
        "invalid_hint": "Verificate di aver copiato il link completo dall'e-mail, o contattate "
        "il vostro fornitore IT.",
        "renewed_yes": "Un nuovo link è in arrivo",
        "renewed_no": "Nessun nuovo link inviato",
        "renewed_yes_text": "Controllate la casella a cui era stato inviato questo link.",
        "renewed_no_text": "Un nuovo link era già stato richiesto, o nulla attende la vostra "
        "risposta. Contattate il vostro fornitore IT se serve aiuto.",
    },
}

# The refusals a client can meet on the answer page, in Italian.
MESSAGES_IT = {
    "Choose accept, defer or reject.": "Scegliete accetto, rinvio o rifiuto.",
    "An accepted recommendation needs a planned implementation date.": (
        "Per accettare serve una data di attuazione prevista."
    ),
    "The planned implementation date cannot be in the past.": (
        "La data di attuazione prevista non può essere nel passato."
    ),
    "A deferral needs the date it is deferred to.": "Per rinviare serve la data del rinvio.",
    "The deferral date must be in the future.": "La data del rinvio deve essere nel futuro.",
    "A deferral needs a justification.": "Per rinviare serve un motivo.",
    "A rejection needs a justification.": "Per rifiutare serve un motivo.",
    "Type your full name.": "Scrivete nome e cognome.",
    "Check the dates you entered.": "Controllate le date inserite.",
    "This contact can no longer answer for the client.": (
        "Questo referente non può più rispondere per il cliente."
    ),
}


def language(client: Client | None) -> str:
    return client.language if client is not None and client.language in TEXT else "en"


def text_for(client: Client | None) -> dict[str, str]:
    return TEXT[language(client)]


def message_for(client: Client | None, message: str) -> str:
    """A refusal in the client's language; the consent refusal names the client."""
    if language(client) != "it" or not message:
        return message
    if client is not None and message.startswith("Confirm that you are authorised"):
        return f"Confermate di essere autorizzati a decidere per {client.name}."
    return MESSAGES_IT.get(message, message)
