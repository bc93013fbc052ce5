"""Health checks of real servers (no Textual here): check types, and the rise/fall state of each."""
