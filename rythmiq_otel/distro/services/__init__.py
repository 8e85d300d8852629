"""Helpers for the three services: FastAPI wiring and the api's route events, the worker's job and stage
contexts, the webhook's context, and the one function every spec event goes through."""
