"""Core services behind the patient portal: identity check and lock-out (access), sessions, what a
patient sees (inbox), upload limits and file checks (uploads), and the PT-6 purge. No web code here."""
