"""When a followed Webex key is next due: a pull costs the vendor's budget, and most customers
of a large tenant are quiet most days, so keys with recent traffic are pulled every run and
quiet ones back off to daily, then weekly. Nothing is lost by backing off: a key's next pull
asks from its watermark (less the lookback), so it loads every day since its last pull."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta


@dataclass(frozen=True)
class DuePolicy:
    """How long a key waits after a pull, by the age of its latest traffic (its latest Webex
    transaction, or its latest message on any vendor, whichever is more recent)."""

    # Traffic within this many days (the lookback plus today): due at every run, so late
    # statuses and the next messages arrive at the schedule's pace.
    active_days: int = 3
    # Traffic within this many days: once a day. Older, or none ever: once a week.
    recent_days: int = 30
    recent_wait: timedelta = timedelta(days=1)
    quiet_wait: timedelta = timedelta(weeks=1)

    def next_due(self, pulled_at: datetime, today: date, last_activity_on: date | None,
                 seen_at: datetime | None) -> datetime:
        """When a key pulled at `pulled_at` (on the tenant's day `today`) is due again."""
        ages = []
        if last_activity_on is not None:
            ages.append((today - last_activity_on).days)
        if seen_at is not None:
            ages.append((pulled_at - seen_at) // timedelta(days=1))
        age = min(ages, default=None)
        if age is not None and age < self.active_days:
            return pulled_at  # due again at the next run
        if age is not None and age < self.recent_days:
            return pulled_at + self.recent_wait
        return pulled_at + self.quiet_wait


DUE_POLICY = DuePolicy()
