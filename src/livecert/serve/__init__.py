"""``livecert serve``: certification in a browser.

An ASGI application (FastAPI on uvicorn; the ``serve`` extra) that issues signed one-time
sessions, serves the capture page (``static/``: plain HTML, CSS and JavaScript, no build step,
nothing from a CDN) and verifies the uploaded recordings in a bounded process pool.  Modules,
from the bottom up:

- :mod:`~livecert.serve.config`: :class:`~livecert.serve.config.ServeConfig`, the limits;
- :mod:`~livecert.serve.errors`: :class:`~livecert.serve.errors.ApiError` and its stable codes;
- :mod:`~livecert.serve.tokens`: the signed session grant the page carries;
- :mod:`~livecert.serve.sniff`: what an upload is, from its first bytes;
- :mod:`~livecert.serve.ratelimit`, :mod:`~livecert.serve.proxy`: a per-client token bucket,
  and who the client is behind a trusted reverse proxy;
- :mod:`~livecert.serve.claims`: one result per session, kept in the ledger's database (shared
  by several servers, as are the used challenges: :mod:`livecert.ledger.nonces`);
- :mod:`~livecert.serve.worker`, :mod:`~livecert.serve.pool`: ``verify()`` and enrollment in
  worker processes;
- :mod:`~livecert.serve.guide`: live guidance over a WebSocket while the person gets into position;
- :mod:`~livecert.serve.app`: the routes;
- :mod:`~livecert.serve.server`: builds the service from the command line and runs uvicorn;
- :mod:`~livecert.serve.cli`: the ``livecert serve`` parser (light: imports the server only when run).

Only :mod:`~livecert.serve.app` and :mod:`~livecert.serve.server` need FastAPI and uvicorn.
"""
