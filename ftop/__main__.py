"""`python -m ftop` runs the same entry point as the `ftop` command."""

from ftop.cli import main

raise SystemExit(main())
