"""``python -m livecert``: the command line."""

from livecert.app.cli import main

raise SystemExit(main())
