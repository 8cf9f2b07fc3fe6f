"""The shop-facing service: FastAPI app, web page, feedback ingestion, model hot swap."""
