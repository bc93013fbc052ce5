"""Prints the README's key table from the app's bindings: `python -m lvs_tui.ui.keys`."""

from lvs_tui.ui.app import key_table_markdown

if __name__ == "__main__":
    print(key_table_markdown(), end="")
