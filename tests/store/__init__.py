"""Store backend tests."""
