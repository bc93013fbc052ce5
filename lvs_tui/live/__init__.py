"""The dashboard's poller side: a live session over one director, building one frozen frame per
poll on the thread that owns the backend (no Textual here)."""
