"""GDPR: the access log, retention, erasure, export and consents (docs/privacy.md)."""
