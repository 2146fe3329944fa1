"""Service requests and service points: built in step 4 (see ARCHITECTURE.md)."""
