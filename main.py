"""Start a controlroom console: `python main.py` (embedded DB with demo data on first run)."""
import sys

from ui.shell.app import main

if __name__ == "__main__":
    sys.exit(main())
