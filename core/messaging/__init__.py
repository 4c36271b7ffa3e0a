"""Secure messages (MS-1..MS-9): the pure pieces first, the services on top of them.

``eforms`` loads and checks eForm definitions (stored as JSON in ``EForm.definition``) and
validates a patient's answers against them; ``builtin_forms`` holds the three forms every site
starts with; ``render`` fills a template's placeholders for one patient (MS-2), cleans the body
HTML (MS-3) and derives the plain-text part of the email (MS-4). None of these touch the
database, so the compose preview, the worker and the portal all call them directly.
"""
