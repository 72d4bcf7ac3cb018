"""Lambda entry of the campaigns context: routes, inbox, schedules, the saga's check and the relay."""

from campaigns.api import app
from harambee.runtime import LambdaEntry

handler = LambdaEntry(
    app,
    consumer="campaigns.inbox:consumer",
    schedules={
        "create-birthday-pots": "campaigns.schedules:create_birthday_pots",
        "expire-campaigns": "campaigns.schedules:expire_campaigns",
    },
    tasks={"campaigns.validate-pledge": "campaigns.tasks:validate_pledge"},
)
