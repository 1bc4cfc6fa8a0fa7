"""Aggregations: hourly and daily figures, customer visits, weekly and monthly summaries."""
