"""Organizational life (三会一课 and more): built in step 3 (see ARCHITECTURE.md)."""
