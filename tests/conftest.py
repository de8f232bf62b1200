"""Session-wide fixtures; heavier ones (road graph, database, app) live next to their tests."""
