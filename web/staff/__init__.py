"""The administration pages of the staff UI: staff accounts and their client
assignments, client settings and contacts, follow-up policies, webhooks.

Pages only: every change is a service that checks the role itself
(``accounts.services``, ``clients.services``, ``followup.services``), every read a
selector that answers 404 for what the user may not see.
"""
