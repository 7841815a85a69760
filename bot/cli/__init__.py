"""The command line's own commands: `run`, `retention` (app.py) and `chat` (terminal.py)."""
