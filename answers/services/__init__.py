"""Every write of the answers app, one module per sub-domain:

- ``authority``: who at a client may decide which severity, dual approval of critical
  rejections (``contact_may_decide``, ``authority_set``, ``authority_replace``);
- ``recording``: the checks every client channel shares and the recording of a
  decision, or of a proposal when the contact may not decide (``answer_record``), and
  the receipt that follows (``confirm_answer``);
- ``submissions``: answers given through a signed link or the portal (``answer_submit``);
- ``inbound``: answers by e-mail (``inbound_receive``) and staff review of the messages
  that did not count (``inbound_review``);
- ``staff``: answers staff took down by phone or in person (``staff_answer_record``);
- ``meetings``: the decisions of a meeting or call, all or none (``meeting_record``);
- ``links``: the answer links' requests and renewal, presenting drafts in a batch (of one
  client, or of many clients at once);
- ``portal``: the client portal's sign-in links;
- ``evidence``: rotating the key of the evidence kept encrypted at rest.

Issuing links and the presentation e-mail live in ``answers.presentation``, the
subscriber of the lifecycle's ``present``.

Callers import from the submodule that owns a function: this package re-exports
nothing, so an import says which sub-domain it depends on, and each module's public
names are its whole interface (no module imports another's underscored names).
"""
