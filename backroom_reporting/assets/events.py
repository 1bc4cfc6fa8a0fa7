"""Event performance analytics and the revenue forecast."""
