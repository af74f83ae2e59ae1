"""Training jobs: the host processes (container.py), their data (channels.py), their supervisor (runner.py)."""
