"""Tests of the crypto layer (a package, so its module names cannot clash with other test dirs)."""
