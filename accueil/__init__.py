"""The `accueil` command: the entry point that dispatches to the faces (TUI, CLI tasks)."""
