"""Database access: the engine, the typed mappings and the migrations."""
