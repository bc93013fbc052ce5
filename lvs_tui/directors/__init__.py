"""Directors other than this process's: the agent a director runs, and the link that talks to it."""
