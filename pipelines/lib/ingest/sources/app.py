"""`app`: the mobile app's Segment event stream (JSON Lines)."""
from pipelines.lib.ingest.sources._segment import EVENTS
from pipelines.lib.ingest.spec import Source

SOURCE = Source(name="app", entities=(EVENTS,), description="Mobile app events (Segment spec).")
