"""The one package that reads and writes moto's in-process state directly.

The engines (Athena, the Glue crawler, Firehose, Pipes, Lambda) run inside the server process.
Going through HTTP to reach S3 objects, the Glue catalog or a stream's records would cost a round
trip each, so engines use these small per-service views of moto's backends instead. Everything
moto-internal they touch is in this package, one module per service, so a moto upgrade has one
place to check (tests/localcloud/test_moto_contract.py guards it).
"""

import threading

# moto's backends have no locks of their own; engines and request threads share them.
STATE_LOCK = threading.RLock()
