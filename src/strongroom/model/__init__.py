"""Package marker; see the modules for what each owns."""
