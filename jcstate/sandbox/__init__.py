"""The sandbox: a local JustCall Contacts API (FastAPI on SQLite), with faults.

`app.create_app(SandboxConfig(...))` is the app; `store` holds the contacts;
`faults` the rate limiter and fault injector; `serve` runs it under uvicorn.
It stands in for the real API, so it knows nothing of the client side: it imports only the
pure core (phone normalisation), never project, remote, execute, render or commands.
"""
