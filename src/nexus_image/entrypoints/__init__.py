"""Entry points: CLI, HTTP, worker, and the wiring that builds the application from settings."""
