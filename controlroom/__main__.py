"""`python -m controlroom`: start the console, exactly as `python main.py` or the `controlroom` command."""
import importlib
import sys


def main() -> int:
    # The launcher is Qt code and lives in ui/shell/app.py. controlroom/ must never import PySide6 or ui
    # (import-linter contract in pyproject.toml), so it is looked up by name only when run.
    code: int = importlib.import_module("ui.shell.app").main()
    return code


if __name__ == "__main__":
    sys.exit(main())
