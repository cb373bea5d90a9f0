"""The screens, one module each (registered in tui/registry.py)."""
