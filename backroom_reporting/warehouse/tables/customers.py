"""Customer analytics (pseudonymous), top customers and staff performance.

Customers appear only under customer_key, a keyed hash of their customer_id: no
customer_id, name, email or phone is stored here. Staff performance is an internal
staff report and names the staff. Column meanings are defined in docs/metrics.md.
"""

import sqlalchemy as sa

from backroom_reporting.metrics.churn import FEATURES as CHURN_FEATURES
from backroom_reporting.warehouse.tables.metadata import WAREHOUSE
from backroom_reporting.warehouse.types import Count, Money

# One snapshot per business week (its Monday), as the week stood at its end (as_of_date).
customer_analytics = sa.Table(
    "customer_analytics",
    WAREHOUSE,
    sa.Column("week_start", sa.Date, primary_key=True),
    sa.Column("venue_id", sa.Text, primary_key=True),
    sa.Column("customer_key", sa.Text, primary_key=True),
    sa.Column("as_of_date", sa.Date, nullable=False),
    sa.Column("visits", Count, nullable=False),
    sa.Column("first_visit", sa.Date, nullable=True),
    sa.Column("last_visit", sa.Date, nullable=True),
    sa.Column("days_since_last_visit", Count, nullable=True),
    sa.Column("visits_90d", Count, nullable=False),
    sa.Column("lifetime_value_pence", Money, nullable=False),
    sa.Column("avg_spend_pence", sa.Float, nullable=True),
    sa.Column("avg_party_size", sa.Float, nullable=True),
    sa.Column("preferred_night", sa.Text, nullable=True),
    sa.Column("special_occasions", sa.Text, nullable=True),
    sa.Column("special_occasion_nights", Count, nullable=False),
    sa.Column("is_vip", sa.Boolean, nullable=False),
    sa.Column("loyalty_score", sa.Float, nullable=False),
    sa.Column("churn_probability", sa.Float, nullable=True),
    sa.Column("segment", sa.Text, nullable=False),
)

# The churn model's labelled examples at each cutoff, computed once and read again by the
# weeks that train on that cutoff (docs/metrics.md, "Churn probability"). No customer
# identity: a feature row and its label. Rewriting customer_visits drops the cutoffs whose
# look-back or label window it touches.
churn_examples = sa.Table(
    "churn_examples",
    WAREHOUSE,
    sa.Column("cutoff", sa.Date, nullable=False),
    sa.Column("venue_id", sa.Text, nullable=False),
    *(sa.Column(feature, sa.Float, nullable=False) for feature in CHURN_FEATURES),
    sa.Column("churned", sa.Boolean, nullable=False),
    # A hash of the features and label: a fit samples the examples that draw lowest, so a
    # training cutoff's share is read by this index without the rest.
    sa.Column("draw", sa.BigInteger, nullable=False),
    sa.Index(None, "cutoff", "draw"),
)

top_customers = sa.Table(
    "top_customers",
    WAREHOUSE,
    sa.Column("venue_id", sa.Text, primary_key=True),
    sa.Column("business_date", sa.Date, primary_key=True),
    sa.Column("ranking", sa.Text, primary_key=True),  # spend | visits
    sa.Column("rank", Count, primary_key=True),
    sa.Column("customer_key", sa.Text, nullable=False),
    sa.Column("visits_90d", Count, nullable=False),
    sa.Column("spend_90d_pence", Money, nullable=False),
    sa.Column("last_visit", sa.Date, nullable=True),
    sa.Column("segment", sa.Text, nullable=False),
    sa.Index(None, "business_date"),
)

staff_performance = sa.Table(
    "staff_performance",
    WAREHOUSE,
    sa.Column("venue_id", sa.Text, primary_key=True),
    sa.Column("business_date", sa.Date, primary_key=True),
    sa.Column("staff_id", sa.Text, primary_key=True),
    sa.Column("staff_name", sa.Text, nullable=True),
    sa.Column("role", sa.Text, nullable=True),
    sa.Column("shifts", Count, nullable=False),
    sa.Column("hours_on_shift", sa.Float, nullable=False),
    sa.Column("bar_sales_pence", Money, nullable=False),
    sa.Column("bar_transactions", Count, nullable=False),
    sa.Column("entries_processed", Count, nullable=False),
    sa.Column("sales_per_hour_pence", sa.Float, nullable=True),
    sa.Index(None, "business_date"),
)
