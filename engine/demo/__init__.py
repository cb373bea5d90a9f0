"""The demo: a simulated tracefs that replays real captures, driven like the live session."""
