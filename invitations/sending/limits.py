"""The numbers that bound sending: claim lease, batch sizes, retries and time limits.

They depend on each other (the lease outlives the tasks' hard limits plus the longest retry
wait; a batch's soft limit fits two lost connections), so they live together;
``tests/invitations`` checks those relations.
"""

from __future__ import annotations

import datetime

# A claim older than this is stale: above the send tasks' hard time limits plus the longest
# retry backoff, so only a claim whose task was lost is ever re-queued.
LEASE = datetime.timedelta(minutes=10)
BATCH_SIZE = 200  # claimed per sweep transaction
MAX_BATCHES = 25  # per kind of work and sweep; the rest waits a minute for the next sweep
# Emails per send task and SMTP connection. A batch costs about ten statements plus one per
# email, so 100 puts the fixed part well under a statement per email, and a batch still ends
# far inside its time limit (bench "email" measured 50, 100 and 200).
SEND_BATCH_SIZE = 100
MAX_RETRIES = 5
MAX_SEND_ATTEMPTS = MAX_RETRIES + 1  # counted in Postgres: the broker keeps no retry count
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 300
SEND_SOFT_TIME_LIMIT = 45
SEND_TIME_LIMIT = 60
# At its soft limit a batch stops cleanly and releases what it has not sent.
BATCH_SOFT_TIME_LIMIT = 120
BATCH_TIME_LIMIT = 150
# Connections lost in a row (timeouts, drops) before a batch takes the SMTP server for down.
MAX_CONNECTION_LOSSES = 2
