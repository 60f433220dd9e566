"""HTTP: the FastAPI app, its dependencies, error handlers and routers."""
