"""One module per screen or modal of the terminal app; each holds one screen and its private widgets.

Screens call core services in thread workers and get plain data back; they never import
SQLAlchemy or ``core.bootstrap`` at module level (start-up time, see ``bench/startup.py``).
"""
