"""Lambda entry of the payments context: its routes, its payables inbox, reconciliation and the relay."""

from harambee.runtime import LambdaEntry
from payments.api import app

handler = LambdaEntry(
    app,
    consumer="payments.inbox:consumer",
    schedules={"reconcile-payments": "payments.reconciliation:run"},
)
