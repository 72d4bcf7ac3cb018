"""Lambda entry of the payments context: its routes, its payables inbox, reconciliation, the relay, and
the tasks donations runs for its pledges (donate, saga compensation)."""

from harambee.runtime import LambdaEntry
from payments.api import app

handler = LambdaEntry(
    app,
    consumer="payments.inbox:consumer",
    schedules={"reconcile-payments": "payments.reconciliation:run"},
    tasks={
        "payments.initiate-pledge": "payments.pledges:initiate_pledge",
        "payments.compensate-pledge": "payments.pledges:compensate_pledge",
    },
)
