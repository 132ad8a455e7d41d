from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from clients.models import Client
    from reports.trends import Points


class HeededConfig(AppConfig):
    name = "heeded"

    def ready(self) -> None:
        # Reports and verification are peers and import neither the other: the
        # project, above both, connects verification's daily device compliance to the
        # trends the QBR draws (reports/trends.py).
        from django.utils.translation import gettext_lazy

        from reports.trends import trend_series
        from verification.selectors import device_score_trend

        def device_compliance(client: Client, since: dt.date, today: dt.date) -> Points:
            return device_score_trend(client, since=since, today=today)

        trend_series(
            "device-compliance",
            title=gettext_lazy("Device compliance over time"),
            source=device_compliance,
        )
