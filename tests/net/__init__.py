"""Network tests: real HSM node processes on 127.0.0.1, driven by the SDK and by raw sockets."""
