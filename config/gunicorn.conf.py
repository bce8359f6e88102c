"""gunicorn settings for `bin/serve-prod` (`gunicorn -c config/gunicorn.conf.py config.wsgi`).

Every value comes from the environment. The connection budget (docs/deploy.md, "PostgreSQL"): each worker
thread holds at most one database connection, so GUNICORN_WORKERS x GUNICORN_THREADS, plus one for the clock and
one for search_sync, plus headroom for migrations and a psql session, must stay below max_connections.
"""

import os

bind = os.environ.get("GUNICORN_BIND", f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# Sync workers: one request at a time per process, the model Django's persistent connections assume. Threads
# (gthread) only when asked for: the pool's threads live as long as the worker, so connections stay bounded.
worker_class = "sync" if threads == 1 else "gthread"
# The opening ceremony decrypts every bid of a tender in one request: allow it minutes, not gunicorn's 30 s.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "180"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Recycle workers now and then so that a slow leak never grows without bound; jitter keeps them from
# restarting together.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max(1, max_requests // 10)
# Not preloaded: each worker imports Django and opens its own database connections after the fork.
preload_app = False
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Large sealed bids arrive through the reverse proxy, which buffers them; nothing here limits their size.
limit_request_line = 8190
# gunicorn's control socket (`gunicornc`) defaults to one path per user: two instances on a host would fight
# over it. Off unless GUNICORN_CONTROL_SOCKET names a path of this instance's own.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket
# gunicorn itself trusts scheme headers from FORWARDED_ALLOW_IPS (default: the loopback, where nginx runs). Only the
# one header the proxy sets (docs/deploy.md): gunicorn's default list also believes X-Forwarded-Ssl and
# X-Forwarded-Protocol, which a proxy that does not know them would pass on from the client untouched.
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
