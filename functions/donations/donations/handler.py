"""Lambda entry of the donations context: routes, its refunds inbox, the relay that starts the saga,
and the saga's tasks. Queue, stream and task code is named, not imported, so HTTP cold starts skip it."""

from donations.api import app
from harambee.runtime import LambdaEntry

handler = LambdaEntry(
    app,
    consumer="donations.inbox:consumer",
    stream="donations.relay:relay",
    tasks={
        "donations.await-payment": "donations.saga:await_payment",
        "donations.confirm-pledge": "donations.saga:confirm_pledge",
        "donations.fail-pledge": "donations.saga:fail_pledge",
        "donations.saga-failed": "donations.saga:report_saga_failure",
        "donations.completed-sums": "donations.saga:completed_sums",
    },
)
