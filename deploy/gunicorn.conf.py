"""Gunicorn for the Nations web container (deploy/Dockerfile). Environment overrides below.

Each worker keeps one PostgreSQL connection per thread (CONN_MAX_AGE), so a web container
opens up to WEB_CONCURRENCY x GUNICORN_THREADS connections: size max_connections (or
PgBouncer, see deploy/README.md) for every container together."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
# django-tenants keeps the schema on the thread's own connection, so threads are safe.
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"

timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then; jitter keeps them from restarting all at once.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
# Heartbeat files in memory: a slow disk under Docker must not get workers killed. (The
# container's /dev/shm and /tmp are its own, not shared with other users: S108 does not apply.)
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

# The TLS-terminating proxy in front sets X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# No preload: nothing may be opened before the fork (database or Redis connections).
preload_app = False

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s "%({host}i)s" "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'

# Gunicorn's control socket (gunicornc) defaults to $HOME/.gunicorn, which the image's
# unprivileged user cannot write (/app belongs to root); /tmp can.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "/tmp/gunicorn.ctl")  # noqa: S108
