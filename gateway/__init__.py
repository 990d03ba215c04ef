"""The FastAPI application and the command line: the composition root of the gateway."""
