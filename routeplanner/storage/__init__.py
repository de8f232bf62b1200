"""Persistence with SQLAlchemy: accounts, reps, territories and plan versions."""
