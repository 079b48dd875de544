"""Tests of the service side of backups: object stores, KMS providers, envelope, catalog."""
