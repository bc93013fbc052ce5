"""`lvs-top exporter`: the table, health and drains as Prometheus metrics (docs/exporter.md).

`source` polls (at most once per scrape, shared by scrapes that come together) and keeps the last
good reading; `metrics` turns a reading into metric families (prometheus_client's, no exposition
format of our own); `serve` answers scrapes over HTTP until a signal stops it.
"""
