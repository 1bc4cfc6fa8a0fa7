"""On call: alert rules (rules.py), the incidents they raise (incidents.py), what runs
(runs.py, sensors/alerts.py) and the figures (figures.py, sensors/figure_alerts.py) raise."""
