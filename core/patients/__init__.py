"""Patients: search (PT-2), the record and its view (PT-1, PT-5), CSV import (PT-3)."""
