"""Analytics' HTTP routes under /api/analytics (health today; KPIs and exports as they land)."""

from harambee.http import create_app

app = create_app("analytics")
