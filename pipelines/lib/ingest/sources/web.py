"""`web`: the website's Segment event stream (JSON Lines)."""
from pipelines.lib.ingest.sources._segment import EVENTS
from pipelines.lib.ingest.spec import Source

SOURCE = Source(name="web", entities=(EVENTS,), description="Website events (Segment spec).")
