"""The HTTP service: FastAPI app (``api.app.create_app``), job queue, workers, batched inference."""
