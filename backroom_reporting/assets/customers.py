"""Customer analytics (pseudonymous), top customers and staff performance."""
