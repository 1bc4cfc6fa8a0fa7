"""On call: alert rules (rules.py), the incidents they raise (incidents.py), and the sensors
that watch runs for them (sensors/alerts.py)."""
