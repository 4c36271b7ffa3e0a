"""The terminal face of Accueil: the Textual app (``tui.app``) and the glue shared by the screens.

Screens live in ``screens/`` (one module each) and themes in ``themes/``. Nothing here imports
SQLAlchemy or ``core.bootstrap`` at module level: the first screen must be on the terminal
before the database layer has finished loading (see ``bench/startup.py``).
"""
