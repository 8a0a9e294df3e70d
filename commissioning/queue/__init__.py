"""How runs are executed when the store is PostgreSQL: jobs on a Postgres-backed queue
(procrastinate, no server of its own), solved by `commissioning worker` processes on any number
of machines; the API server only enqueues. With the SQLite store runs stay in the API server's
own pool of worker processes (commissioning.api.queue).

jobs.py: the tasks; steps.py: what each does with the store; janitor.py: noticing dead workers;
worker.py: the `commissioning worker` command; enqueue.py: the API server's side.
"""
