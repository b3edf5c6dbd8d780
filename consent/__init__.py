"""Consent: participants, clip versions, decisions, the usability rule, the export gate, the audit log.

The flat modules are the consent services, lowest first: ``errors``, ``models``, ``anchors`` (the audit
chain's head held outside the store), ``server_anchors`` (the heads a PostgreSQL server keeps), ``scopes``,
``conditions`` and ``audit``; ``rows`` (one transaction per change, look-ups by id or name);
``participants``, ``clips``, ``decisions``, ``usability`` (the rule for use) and ``verification`` (the
records checked against every anchor; an acknowledged rollback). The subpackages sit above them: ``server``
(database roles and what each may read), ``export`` (the gate: the only way from a stored recording to a
file), ``forms`` (printable consent forms and receipts), ``station`` (the review station) and ``retention``
(periods, withdrawal and what it makes due, destruction).
"""
