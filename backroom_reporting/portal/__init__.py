"""The web app recipients and providers reach: downloads, report pages, the dashboard, the API,
tracking, unsubscribe, verification and provider callbacks (docs/delivery.md, "The web app")."""
