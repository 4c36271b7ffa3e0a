"""The patient portal: the web page behind each secure link (Starlette + Jinja2, served by uvicorn).

``portal.app.create_app`` builds the ASGI app; ``portal.server`` runs it (``accueil portal``, or in a
thread for ``accueil demo``). It reads and writes the database only through core services.
"""
