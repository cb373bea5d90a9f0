"""ftop themes: Textual themes as data."""
