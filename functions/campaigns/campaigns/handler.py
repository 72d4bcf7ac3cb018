"""Lambda entry of the campaigns context: its routes, the donation saga's check and the relay."""

from campaigns.api import app
from harambee.runtime import LambdaEntry

handler = LambdaEntry(
    app,
    tasks={"campaigns.validate-pledge": "campaigns.tasks:validate_pledge"},
)
