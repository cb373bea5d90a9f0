"""ftop TUI: Textual screens over the engine."""
