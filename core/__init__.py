"""Accueil's service layer: domain, database and adapters.

Every face (the terminal app, the command line, the patient portal, the worker) calls into this
package and gets plain data back. It never imports textual, starlette or the faces themselves.
"""
