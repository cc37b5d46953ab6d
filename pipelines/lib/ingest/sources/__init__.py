"""Every source of the landing zone, by folder name. Adding a source: a module here, one line below."""
from pipelines.lib.ingest.sources import (
    ads, app, crm, guide, live, mall_orders, miniprogram, official_account, pos, service, web,
)
from pipelines.lib.ingest.spec import Source

SOURCES: dict[str, Source] = {
    m.SOURCE.name: m.SOURCE
    for m in (app, web, miniprogram, official_account, live, guide, mall_orders, pos, crm, ads, service)
}
