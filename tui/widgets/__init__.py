"""Widgets and dialogs the screens share: the trace view, the status band, row lists, dialogs, safe text."""
