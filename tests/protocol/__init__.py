"""Wire protocol tests: frames, commands, values, errors, golden vectors, the spec."""
