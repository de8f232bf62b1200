"""FastAPI application: pages for reps and managers and the JSON API."""
