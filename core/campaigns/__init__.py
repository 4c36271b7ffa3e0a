"""Campaigns (CA-1..CA-8): invitations to the patient app by email, and in-app broadcasts with push.

``campaigns`` creates, edits and lists campaigns and holds the permission check (CA-3);
``conditions`` compiles the condition builder's rows into one SQL query (CA-4); ``recipients``
adds patients (one, by conditions, by CSV), removes them and pages the list (CA-4, CA-7);
``start`` sends through the outbox behind the consent gates and writes the consent ledger
(CA-6, CA-8); ``push`` is the push-gateway adapter and its outbox job; ``broadcasts`` and
``invitations`` are what the patient portal calls (PO-5, PO-6). Nothing here imports a face.
"""
