"""The Textual dashboard: the only package of lvs-top that imports Textual."""
