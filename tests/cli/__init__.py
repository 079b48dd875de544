"""Tests of the ``strongroom`` command line, run in-process through ``main(argv)``."""
