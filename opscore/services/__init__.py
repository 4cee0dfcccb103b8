"""Services: agents, sessions and workflow runs over the engine and the store."""
