"""gunicorn settings for ``make run``: loopback by default, the model loaded once (preload).

HOST and PORT choose the address (default 127.0.0.1:8000); WEB_CONCURRENCY the
number of worker processes (default 2).
"""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = 1
preload_app = True
timeout = 60
graceful_timeout = 10
max_requests = 2000  # recycle workers now and then; jitter avoids restarting all at once
max_requests_jitter = 200
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'


def when_ready(server):  # noqa: ANN001 - gunicorn hook
    server.log.info("facegender is serving on http://%s/", bind)
    print(f"facegender: open http://{bind}/ in your browser", flush=True)
